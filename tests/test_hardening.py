"""Issue 17: the attacks a hostile review made on a live server, each reproduced on a real
process over loopback sockets (bounded in count and time), with the fixed behaviour and a
normal client served meanwhile. One server (`edge`, short deadlines) takes most of them."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from linkup_emulator.pytest_plugin import LiveServer
from tests.support.servers import running

HEAD_TIMEOUT_S = 1.0
WRITE_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 200
CACHE_MB = 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def edge() -> Iterator[LiveServer]:
    server = LiveServer(
        [
            "--head-timeout-s", str(HEAD_TIMEOUT_S),
            "--write-timeout-s", str(WRITE_TIMEOUT_S),
            "--max-connections", str(MAX_CONNECTIONS),
            "--people-cache-mb", str(CACHE_MB),
            "--log-level", "info",
        ]
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def client(edge: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=edge.base_url, timeout=10) as http:
        yield http


def port_of(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def server_log(server: LiveServer) -> str:
    stderr: Any = server._stderr  # the plugin keeps the server's stderr there
    stderr.seek(0)
    text: str = stderr.read().decode(errors="replace")
    return text


def served(http: httpx.Client) -> None:
    """A normal client's call, answered."""
    response = http.get("/v2/credits", headers={"x-api-key": "demo_key"})
    assert response.status_code == 200, response.text


def read_answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Whatever the server sends until it closes (or the timeout)."""
    sock.settimeout(timeout)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return answer


def status_and_body(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), orjson.loads(body)


# -- connections ---------------------------------------------------------------------------


def test_an_endless_header_is_cut_at_64_kib_and_memory_stays_flat(
    edge: LiveServer, client: httpx.Client
) -> None:
    served(client)
    before = rss_mb(edge.process.pid)
    for _ in range(10):  # ten clients, each streaming up to 4 MB of one header line
        with socket.create_connection(("127.0.0.1", port_of(edge))) as sock:
            sock.sendall(b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
            try:
                for _ in range(64):
                    sock.sendall(b"a" * 65536)
            except OSError:
                pass  # the server closed it
        served(client)
    assert rss_mb(edge.process.pid) - before < 10  # unbounded: +40 MB and more

    # What such a client is told: 431 in the envelope, then the connection closes.
    with socket.create_connection(("127.0.0.1", port_of(edge))) as sock:
        sock.sendall(b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 70_000)
        status, body = status_and_body(read_answer(sock))
    assert status == 431
    assert body["error"]["code"] == "INVALID_PARAMS"
    assert body["metadata"]["action"] == "get_credits"


def test_hundreds_of_headers_are_refused_in_the_sides_shape(edge: LiveServer) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    for path, shape in ((b"/v2/credits", "envelope"), (b"/_emulator/health", "control")):
        with socket.create_connection(("127.0.0.1", port_of(edge))) as sock:
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n" + many + b"\r\n")
            status, body = status_and_body(read_answer(sock))
        assert status == 431
        assert body["error"]["code"] == "INVALID_PARAMS"
        assert ("metadata" in body) == (shape == "envelope")


def test_a_slow_head_is_cut_at_its_deadline(edge: LiveServer, client: httpx.Client) -> None:
    """Slowloris: 100 connections each sending a header line every 0.2 s."""
    socks = [socket.create_connection(("127.0.0.1", port_of(edge))) for _ in range(100)]
    try:
        for sock in socks:
            sock.sendall(b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\n")
        open_socks, answers = set(socks), []
        deadline = time.monotonic() + HEAD_TIMEOUT_S + 3
        while open_socks and time.monotonic() < deadline:
            served(client)
            readable, _, _ = select.select(list(open_socks), [], [], 0.2)
            for sock in readable:
                answers.append(read_answer(sock, 0.5))
                open_socks.discard(sock)
            for sock in list(open_socks):
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    open_socks.discard(sock)
        assert not open_socks, f"{len(open_socks)} slow heads still open"
        timed_out = [a for a in answers if a.startswith(b"HTTP/1.1 408")]
        assert timed_out
        assert b"Request head not received in time" in timed_out[0]
    finally:
        for sock in socks:
            sock.close()


def test_silent_sockets_past_the_cap_are_refused_logged_and_then_dropped(
    edge: LiveServer, client: httpx.Client
) -> None:
    limits = Path(f"/proc/{edge.process.pid}/limits").read_text()
    soft, hard = next(line for line in limits.splitlines() if "open files" in line).split()[3:5]
    assert soft == hard  # raised at start

    socks = [socket.create_connection(("127.0.0.1", port_of(edge))) for _ in range(260)]
    try:
        refused = 0
        for sock in socks[MAX_CONNECTIONS:]:
            answer = read_answer(sock, 2.0)
            refused += answer.startswith(b"HTTP/1.1 503")
        assert refused >= 50  # every one past the cap, told so (not reset)
        # The silent ones go at the head deadline: a new client is served again.
        time.sleep(HEAD_TIMEOUT_S + 0.5)
        served(client)
        assert all(read_answer(sock, 1.0) == b"" for sock in socks[:50])
    finally:
        for sock in socks:
            sock.close()
    assert "(EMULATOR_MAX_CONNECTIONS)" in server_log(edge)


def test_a_client_that_pipelines_and_never_reads_is_dropped(
    edge: LiveServer, client: httpx.Client
) -> None:
    asset = "/docs/assets/swagger-ui-bundle.js"
    size = len(client.get(asset).content)  # 1.5 MB: 20 of them outgrow every socket buffer
    with socket.create_connection(("127.0.0.1", port_of(edge))) as sock:
        sock.sendall(f"GET {asset} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode() * 20)
        time.sleep(WRITE_TIMEOUT_S + 1.5)  # never reading
        served(client)
        received, reset = 0, False
        sock.settimeout(2.0)
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            reset = True
        except TimeoutError:
            pass
    assert reset or received < 10 * size, received  # aborted, never all 20 answers
    assert "went unread" in server_log(edge)


# -- cross-site and Host ---------------------------------------------------------------------


def test_a_rebinding_host_is_refused_in_the_sides_shape(
    edge: LiveServer, client: httpx.Client
) -> None:
    evil = {"host": "attacker.example", "x-api-key": "demo_key"}
    v2 = client.get("/v2/credits", headers=evil)
    assert v2.status_code == 400
    assert v2.json()["error"]["code"] == "INVALID_PARAMS"
    assert v2.json()["metadata"]["action"] == "get_credits"
    control = client.get("/_emulator/faults", headers={"host": "attacker.example:8000"})
    assert control.status_code == 400
    assert control.json()["error"]["code"] == "INVALID_PARAMS"
    assert "EMULATOR_ALLOWED_HOSTS" in control.json()["error"]["message"]
    for host in (f"127.0.0.1:{port_of(edge)}", f"localhost:{port_of(edge)}", "localhost"):
        assert client.get("/v2/credits", headers={**evil, "host": host}).status_code == 200


def test_a_cross_site_page_cannot_write_to_the_control_plane(
    edge: LiveServer, client: httpx.Client
) -> None:
    rule = b'{"error": "INTERNAL_ERROR"}'
    attacks = [
        {"origin": "http://attacker.example", "content-type": "text/plain"},
        {"origin": "null", "content-type": "text/plain"},
        {"sec-fetch-site": "cross-site", "content-type": "application/json"},
        {"origin": f"http://127.0.0.1:{port_of(edge) + 1}", "content-type": "application/json"},
    ]
    for headers in attacks:
        for path in ("/_emulator/faults", "/_emulator/reset", "/_emulator/keys"):
            refused = client.post(path, content=rule, headers=headers)
            assert refused.status_code == 403, (headers, path, refused.text)
            assert refused.json()["error"]["code"] == "FORBIDDEN"
    plain = client.post("/_emulator/faults", content=rule, headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert client.get("/_emulator/faults").json() == {"items": []}  # nothing was planted

    same = {"origin": f"http://127.0.0.1:{port_of(edge)}", "sec-fetch-site": "same-origin"}
    made = client.post(
        "/_emulator/faults",
        content=b'{"error": "INTERNAL_ERROR", "match": {"api_key": "nobody"}}',
        headers={**same, "content-type": "application/json"},
    )
    assert made.status_code == 201
    assert client.delete(f"/_emulator/faults/{made.json()['id']}").status_code == 200
    # The dashboard's own form posts (same origin) are not the guard's to refuse: this one
    # reaches the dashboard, whose own CSRF check refuses it (no token), with its HTML page.
    form = {**same, "content-type": "application/x-www-form-urlencoded"}
    ui = client.post("/_emulator/ui/tenants", content=b"a=1", headers=form)
    assert ui.status_code == 403
    assert ui.headers["content-type"].startswith("text/html")
    assert "security token" in ui.text
    cross = client.post(
        "/_emulator/ui/tenants", content=b"a=1", headers={**form, "sec-fetch-site": "cross-site"}
    )
    assert cross.status_code == 403
    served(client)


# -- leaks -----------------------------------------------------------------------------------


def test_api_keys_are_masked_in_the_access_log_and_the_fault_list(
    edge: LiveServer, client: httpx.Client
) -> None:
    assert client.get("/_emulator/keys/demo_key").status_code == 200
    made = client.post("/_emulator/faults", json={"match": {"api_key": "demo_key"}, "delay_ms": 1})
    try:
        assert made.json()["match"]["api_key"] == "****_key"
        listed = client.get("/_emulator/faults").json()["items"]
        assert [rule["match"]["api_key"] for rule in listed] == ["****_key"]
    finally:
        client.delete(f"/_emulator/faults/{made.json()['id']}")
    time.sleep(0.3)  # access lines go out in batches
    lines = [line for line in server_log(edge).splitlines() if "/_emulator/keys/" in line]
    assert lines
    assert all("demo_key" not in line and "****_key" in line for line in lines)


# -- ledger and time ---------------------------------------------------------------------------


def _tenant(client: httpx.Client, key: str, **extra: Any) -> None:
    spec = {"api_key": key, "credits": 1000, "accounts": [{"account_id": f"acc_{key}"}]}
    response = client.post("/_emulator/keys", json={**spec, **extra})
    assert response.status_code == 201, response.text


def _call(base_url: str, key: str, out: list[httpx.Response], delay_ms: int = 0) -> None:
    body = {"account_id": f"acc_{key}", "action": "recommendations", "params": {"count": 10}}
    headers = {"x-api-key": key, "x-emulator-delay-ms": str(delay_ms)}
    with httpx.Client(base_url=base_url, timeout=10) as http:
        out.append(http.post("/v2/network", json=body, headers=headers))


def test_a_call_delayed_across_a_tenant_reset_debits_nothing(
    edge: LiveServer, client: httpx.Client
) -> None:
    _tenant(client, "t17_delayed")
    out: list[httpx.Response] = []
    call = threading.Thread(target=_call, args=(edge.base_url, "t17_delayed", out, 1500))
    call.start()
    time.sleep(0.5)
    assert client.post("/_emulator/reset", params={"api_key": "t17_delayed"}).status_code == 200
    call.join()
    assert out[0].status_code == 403  # its tenant went while it waited
    report = client.get("/_emulator/keys/t17_delayed").json()
    assert report["credits"] == {"balance": 1000, "consumed": 0}  # before: 990
    journal = client.get("/_emulator/requests", params={"api_key": "t17_delayed"}).json()
    assert journal["total"] == 0  # nor a row of it after the reset


def test_a_recreated_tenants_rate_window_is_its_own(edge: LiveServer, client: httpx.Client) -> None:
    _tenant(client, "t17_window", rate_limit=1)
    out: list[httpx.Response] = []
    call = threading.Thread(target=_call, args=(edge.base_url, "t17_window", out, 1200))
    call.start()
    time.sleep(0.4)
    assert client.post("/_emulator/reset").status_code == 200  # everything, back to fixtures
    _tenant(client, "t17_window", rate_limit=1)
    call.join()
    fresh: list[httpx.Response] = []
    _call(edge.base_url, "t17_window", fresh)
    assert fresh[0].status_code == 200, fresh[0].text  # before: 429
    client.post("/_emulator/reset")


# -- storage -------------------------------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a disk to fill) needs root")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_and_a_deleted_state_file_say_so(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "2m")
    state = disk / "state.sqlite3"
    env = {**os.environ, "EMULATOR_STATE": str(state), "EMULATOR_LOG_LEVEL": "warning"}
    command = [sys.executable, "-m", "linkup_emulator.cli", "--port", "0"]
    log = tmp_path / "stderr.log"
    body = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 1}}
    key = {"x-api-key": "demo_key"}
    try:
        with running(command, env, log) as http:
            filler = _fill(disk)
            answers = [http.post("/v2/network", json=body, headers=key) for _ in range(300)]
            failed = [a for a in answers if a.status_code == 500]
            assert failed, "a full disk failed no call"
            assert all(a.json()["error"]["code"] == "INTERNAL_ERROR" for a in failed)
            assert "can't be written" in failed[0].json()["error"]["message"]
            health = http.get("/_emulator/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert http.get("/_emulator/requests").status_code == 200  # still readable
            filler.unlink()
            assert http.post("/v2/network", json=body, headers=key).status_code == 200
            assert http.get("/_emulator/health").status_code == 200
            ok = sum(a.status_code == 200 for a in answers) + 1
            consumed = http.get("/_emulator/keys/demo_key").json()["credits"]["consumed"]
            assert consumed == ok  # every acknowledged call debited, no failed one

            state.unlink()  # deleted while the server runs
            gone = http.post("/v2/network", json=body, headers=key)
            assert gone.status_code == 500
            assert "deleted" in gone.json()["error"]["message"]
            assert http.get("/_emulator/health").status_code == 503
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    lines = log.read_text().splitlines()
    assert sum("the store failed a write" in line for line in lines) <= 4  # once per burst
    assert "Traceback" not in log.read_text()


def test_sigterm_bounds_the_shutdown_exits_0_and_closes_the_store(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    server = LiveServer(["--state", str(state), "--shutdown-timeout-s", "1"])
    try:
        out: list[BaseException | httpx.Response] = []

        def held() -> None:
            try:
                with httpx.Client(base_url=server.base_url, timeout=40) as http:
                    out.append(
                        http.get("/v2/credits", headers={**KEY, "x-emulator-delay-ms": "30000"})
                    )
            except httpx.HTTPError as error:
                out.append(error)

        call = threading.Thread(target=held)
        call.start()
        time.sleep(0.5)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(timeout=8)
        took = time.monotonic() - started
        call.join()
    finally:
        server.stop()
    assert status == 0  # before: -15
    assert took < 8  # before: 29.6 s (the shutdown waits 1 s here; Docker kills at 10)
    assert not list(tmp_path.glob("state.sqlite3-wal")) + list(tmp_path.glob("*-shm"))


KEY = {"x-api-key": "demo_key"}


# -- growth ----------------------------------------------------------------------------------------


def test_generated_people_are_kept_within_their_bytes(
    edge: LiveServer, client: httpx.Client
) -> None:
    accounts = [{"account_id": f"acc_big_{i}", "pool_size": 1000} for i in range(40)]
    response = client.post(
        "/_emulator/keys",
        json={"api_key": "t17_big", "credits": None, "rate_limit": 0, "accounts": accounts},
    )
    assert response.status_code == 201, response.text
    body = {"action": "recommendations", "params": {"count": 1000}}
    client.post(
        "/v2/network", json={**body, "account_id": "acc_big_0"}, headers={"x-api-key": "t17_big"}
    )
    before = rss_mb(edge.process.pid)
    for account in accounts:
        answer = client.post(
            "/v2/network", json={**body, "account_id": account["account_id"]},
            headers={"x-api-key": "t17_big"},
        )  # fmt: skip
        assert answer.status_code == 200
    grown = rss_mb(edge.process.pid) - before
    assert grown < CACHE_MB + 12, grown  # unbounded: 40 pools of ~0.6 MB


def test_metrics_series_go_with_their_tenant(edge: LiveServer, client: httpx.Client) -> None:
    _tenant(client, "t17_metrics")
    out: list[httpx.Response] = []
    _call(edge.base_url, "t17_metrics", out)
    assert out[0].status_code == 200
    label = "*******rics#"  # the masked key and its digest
    assert label in client.get("/metrics").text
    client.post("/_emulator/reset", params={"api_key": "t17_metrics"})
    assert label not in client.get("/metrics").text
