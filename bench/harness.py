"""Shared plumbing for the benchmarks: server processes, tenants, raw HTTP probes and wrk runs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
LOG_DIR = RESULTS_DIR / "logs"
EMULATOR_SCRIPT = Path(sys.executable).parent / "linkup-emulator"
HOST = "127.0.0.1"
NETWORK_PATH = "/v2/network"
BENCH_KEY = "bench_key"
BENCH_ACCOUNT = "bench_acc"
DEMO_KEY = "demo_key"
DEMO_ACCOUNT = "acc_demo"
METERED_CREDITS = 1_000_000_000
WRK_THREADS = 2
WRK_CONNECTIONS = 16
# The environment variable through which bench/baseline.py finds its precomputed bodies.
BODIES_ENV = "BENCH_BASELINE_BODIES"
START_TIMEOUT_S = 60.0


class BenchError(RuntimeError):
    """A failure that voids the figures: a server died, wrk or a setup call failed."""


def free_port() -> int:
    """Ask the kernel for a free TCP port on HOST (released before the server binds it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def network_body(account_id: str, count: int) -> bytes:
    """The JSON body of a `recommendations` call for `count` people."""
    return b'{"account_id":"%s","action":"recommendations","params":{"count":%d}}' % (
        account_id.encode(),
        count,
    )


@dataclass
class Server:
    """A server process started by the benchmark, in its own process group, logging to a file."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started: float  # time.perf_counter() just before the process was spawned

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def check_alive(self) -> None:
        """Raise BenchError, with the tail of the server's log, if the process has exited."""
        code = self.proc.poll()
        if code is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise BenchError(f"{self.name} exited with code {code}; log tail:\n{tail}")

    def stop(self) -> None:
        """Terminate the server's whole process group (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def emulator_command(port: int, workers: int, state: str) -> list[str]:
    """The command line users run: this interpreter's `linkup-emulator` script, default settings."""
    return [
        str(EMULATOR_SCRIPT),
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
        "--state", state,
    ]  # fmt: skip


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free port with its append-only file in `folder` (fsync every second,
    compose.yaml's setting); its URL. Stopped when the block ends."""
    port = free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", HOST, "--dir", str(folder),
        "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
    ]  # fmt: skip
    try:
        server = spawn("redis", command, port)
    except FileNotFoundError as error:
        raise BenchError("redis-server not found (apt-get install redis-server)") from error
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while b"PONG" not in _redis(port, b"PING"):
            server.check_alive()
            if time.monotonic() > deadline:
                raise BenchError("redis-server did not answer")
            time.sleep(0.02)
        yield f"redis://{HOST}:{port}/0"
    finally:
        server.stop()


def _redis(port: int, command: bytes) -> bytes:
    """One inline command to Redis on `port` and all it answers (b"" if it doesn't)."""
    try:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(command + b"\r\nQUIT\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            return answer
    except OSError:
        return b""


# Commands a client sends itself; inside a script, HGET, HSET... are counted too, so the
# script's own calls are left out: what is left is the round trips.
CLIENT_COMMANDS = ("evalsha", "eval", "script", "hello", "client", "select", "ping", "auth")


def redis_round_trips(url: str) -> int:
    """Commands the clients of the Redis at `url` have sent so far (INFO commandstats)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    stats = _redis(port, b"INFO commandstats").decode(errors="replace")
    return sum(
        int(calls)
        for name, calls in re.findall(r"^cmdstat_([a-z|_-]+):calls=(\d+)", stats, re.MULTILINE)
        if name.split("|")[0] in CLIENT_COMMANDS
    )


def baseline_command(port: int, workers: int) -> list[str]:
    """bench/baseline.py under uvicorn as the emulator runs it: uvloop, httptools, no access log."""
    return [
        sys.executable, "-m", "uvicorn", "baseline:app",
        "--app-dir", str(BENCH_DIR),
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
        "--loop", "uvloop",
        "--http", "httptools",
        "--no-access-log",
        "--no-server-header",
    ]  # fmt: skip


def clean_environ() -> dict[str, str]:
    """This process's environment without EMULATOR_* settings, so servers run on their defaults."""
    return {name: value for name, value in os.environ.items() if not name.startswith("EMULATOR_")}


def spawn(name: str, command: list[str], port: int, env: dict[str, str] | None = None) -> Server:
    """Start `command` in a new session with its output in bench/results/logs/<name>.log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**clean_environ(), **(env or {})},
            start_new_session=True,
        )
    return Server(name, proc, port, log_path, started)


def raw_status(port: int, request: bytes, timeout: float = 10.0) -> int | None:
    """Send one raw HTTP/1.1 request; the response's status code, or None if nobody answered."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                head += chunk
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def raw_request(method: str, path: str, api_key: str | None = None, body: bytes = b"") -> bytes:
    """A complete HTTP/1.1 request with `Connection: close`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    if api_key is not None:
        lines.append(f"x-api-key: {api_key}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def wait_for_200(server: Server, request: bytes, poll_s: float = 0.005) -> float:
    """Poll with `request` every `poll_s` until the first 200; seconds since the server's spawn.

    The server is stopped if it never answers 200.
    """
    try:
        while time.perf_counter() - server.started < START_TIMEOUT_S:
            if raw_status(server.port, request) == 200:
                return time.perf_counter() - server.started
            server.check_alive()
            time.sleep(poll_s)
    except BaseException:
        server.stop()
        raise
    server.stop()
    raise BenchError(f"{server.name} gave no 200 within {START_TIMEOUT_S:.0f} s")


def start_emulator(name: str, workers: int = 1, state: str = ":memory:") -> Server:
    """Start the emulator on a free port and wait until its health route answers 200."""
    if not EMULATOR_SCRIPT.exists():
        raise BenchError(f"{EMULATOR_SCRIPT} not found: run `pip install -e .` in this venv")
    port = free_port()
    server = spawn(name, emulator_command(port, workers, state), port)
    wait_for_200(server, raw_request("GET", "/_emulator/health"), poll_s=0.05)
    return server


def start_baseline(name: str, bodies_dir: Path, workers: int = 1) -> Server:
    """Start the baseline serving the bodies in `bodies_dir`; wait for its first 200."""
    port = free_port()
    server = spawn(name, baseline_command(port, workers), port, {BODIES_ENV: str(bodies_dir)})
    probe = raw_request("POST", NETWORK_PATH, BENCH_KEY, network_body(BENCH_ACCOUNT, 10))
    wait_for_200(server, probe, poll_s=0.05)
    return server


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Stop `server` when the block ends, however it ends."""
    try:
        yield server
    finally:
        server.stop()


def create_tenant(server: Server, credits: int | None) -> None:
    """Create the benchmark tenant (rate limit off, one US account with a 1000-person pool)."""
    tenant = {
        "api_key": BENCH_KEY,
        "credits": credits,
        "rate_limit": 0,
        "accounts": [{"account_id": BENCH_ACCOUNT, "country": "US", "pool_size": 1000}],
    }
    response = httpx.post(f"{server.base_url}/_emulator/keys", json=tenant, timeout=30)
    if response.status_code != 201:
        raise BenchError(f"creating the tenant: {response.status_code} {response.text[:500]}")


def fetch_network(server: Server, count: int) -> bytes:
    """One `recommendations` call for the benchmark account; the raw response body (must be 200)."""
    response = httpx.post(
        server.base_url + NETWORK_PATH,
        content=network_body(BENCH_ACCOUNT, count),
        headers={"x-api-key": BENCH_KEY, "Content-Type": "application/json"},
        timeout=60,
    )
    if response.status_code != 200:
        raise BenchError(f"count={count}: {response.status_code} {response.text[:500]}")
    return response.content


@dataclass
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE_RE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_REQUESTS_RE = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_RPS_RE = re.compile(r"^Requests/sec:\s*([\d.]+)", re.MULTILINE)
_NON_2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")
_SOCKET_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk(output: str) -> WrkResult:
    """Parse the text wrk prints with `--latency`."""
    percentiles = {m[1]: float(m[2]) * _UNIT_MS[m[3]] for m in _PERCENTILE_RE.finditer(output)}
    rps = _RPS_RE.search(output)
    requests = _REQUESTS_RE.search(output)
    if rps is None or requests is None or set(percentiles) != {"50", "99"}:
        raise BenchError(f"unexpected wrk output:\n{output}")
    non_2xx = _NON_2XX_RE.search(output)
    sockets = _SOCKET_RE.search(output)
    return WrkResult(
        rps=float(rps[1]),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(requests[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def wrk_script(api_key: str, account_id: str, count: int) -> str:
    """The Lua script making wrk send the `recommendations` POST."""
    body = network_body(account_id, count).decode()
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["x-api-key"] = "{api_key}"\n'
        f"wrk.body = '{body}'\n"
    )


def run_wrk(server: Server, count: int, duration_s: float) -> WrkResult:
    """Load `server` with wrk (-t2 -c16) for `duration_s`; raise if the server died meanwhile."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(BENCH_KEY, BENCH_ACCOUNT, count))
    try:
        command = [
            "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s:g}s",
            "--timeout", "5s", "--latency", "-s", script.name,
            server.base_url + NETWORK_PATH,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(script.name)
    server.check_alive()
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)
