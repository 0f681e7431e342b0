"""Webhooks over a shared state and real HTTP: two emulators on one SQLite file deliver each
event once (the lease), and a hosted webhook's SSE stream, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
import yaml

from linkup_emulator.inprocess import InProcessClient
from linkup_emulator.main import create_app
from linkup_emulator.network.graph import GraphEvent
from linkup_emulator.pytest_plugin import LiveServer, Receiver
from linkup_emulator.settings import Settings
from linkup_emulator.webhooks import service
from tests.support.servers import free_port

TENANT = {"api_key": "shared_key", "credits": None, "accounts": [{"account_id": "acc_shared"}]}
KEY = {"x-api-key": "shared_key"}
START = "2026-04-26T10:35:00Z"


def test_two_emulators_on_one_state_deliver_each_event_once(tmp_path: Path) -> None:
    """As two workers or replicas would: each claims deliveries from the shared store, and a
    claim is a lease only one of them holds, so the receiver gets every event exactly once."""
    settings = Settings(
        seed="shared", log_level="warning", rate_limit=0, workers=2,
        state=str(tmp_path / "state.sqlite3"), webhook_sweep_s=0.2,
    )  # fmt: skip
    receiver = Receiver()
    first = InProcessClient(create_app(settings), base_url="http://emulator")
    second = InProcessClient(create_app(settings), base_url="http://emulator")
    try:
        assert first.post("/_emulator/keys", json=TENANT).status_code == 201
        made = first.post(
            "/v2/webhooks", headers=KEY, json={"account_id": "acc_shared", "url": receiver.url}
        )
        assert made.status_code == 200
        for client in (first, second):
            client.app.state.webhooks.dispatcher.start()
        hooks = first.app.state.webhooks

        async def emit(n: int) -> None:
            account = await hooks.store.account("acc_shared")
            now = await hooks.emulator.now("shared_key")
            events = [
                GraphEvent("accepted_invitation", now, f"k{n}-{i}", ({"name": f"P {n}-{i}"},))
                for i in range(10)
            ]
            await hooks.pipeline.emit(account, events, now)

        for n in range(6):  # in batches, so both dispatchers are polling while they come
            first.run(emit(n))
            time.sleep(0.02)
        receiver.wait(60, timeout=20)
        time.sleep(0.5)  # a second delivery of any would have come by now
        bodies = [d.body for d in receiver.deliveries]
        assert len(bodies) == len(set(bodies)) == 60
        senders = {d.headers.get("user-agent") for d in receiver.deliveries}
        assert len(senders) == 1  # same build; which process sent each is not visible here
    finally:
        first.close()
        second.close()
        receiver.close()


@pytest.fixture
def served() -> Iterator[tuple[str, InProcessClient]]:
    """The emulator served by uvicorn in a thread on 127.0.0.1 (no process), and an in-process
    client of the same app for the control plane."""
    app = create_app(Settings(seed="sse", log_level="warning", rate_limit=0))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    control = InProcessClient(app, base_url="http://emulator")
    try:
        yield f"http://127.0.0.1:{port}", control
    finally:
        server.should_exit = True
        thread.join(10)
        control.close()


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) of each message; a comment line as ("comment", its text)."""
    event, data = "message", ""
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data:
            yield event, orjson.loads(data)
            event, data = "message", ""


def test_the_stream_sends_connected_then_each_event_and_keepalives(
    served: tuple[str, InProcessClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, control = served
    monkeypatch.setattr(service, "KEEPALIVE_S", 0.5)
    made = control.post(
        "/v2/webhooks", headers={"x-api-key": "demo_key"}, json={"account_id": "acc_demo"}
    )
    webhook_id = made.json()["data"]["webhook_id"]
    url = f"{base}/v2/webhooks/{webhook_id}/stream"
    with httpx.Client(timeout=10) as client:
        refused = client.get(url, params={"api_key": "nope"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "INVALID_API_KEY")
        assert refused.json()["metadata"]["action"] == "stream_webhook_events"
        head = client.head(url, params={"api_key": "demo_key"})
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"].startswith("text/event-stream")
        with client.stream("GET", url, params={"api_key": "demo_key"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            messages = _sse(stream.iter_lines())
            assert next(messages) == (
                "connected",
                {"webhook_id": webhook_id, "account_id": "acc_demo"},
            )
            arrival = {"profile_url": "https://www.linkedin.com/in/sam-vale"}
            assert (
                control.post("/_emulator/accounts/acc_demo/invitations", json=arrival).status_code
                == 201
            )
            kind, body = next(messages)
            assert kind == "webhook"
            assert body["event"]["type"] == "invitation_received"
            assert (
                body["event"]["new_invitations"][0]["profile_url"]
                == "https://www.linkedin.com/in/sam-vale/"
            )
            assert next(messages) == ("comment", "keepalive")
    polled = control.get(f"/v2/webhooks/{webhook_id}/events", headers={"x-api-key": "demo_key"})
    assert [i["event"] for i in polled.json()["data"]["items"]] == [body]


@pytest.mark.slow
def test_a_server_with_two_workers_delivers_each_event_once(tmp_path: Path) -> None:
    """Two worker processes on one state file, arrivals landing on either: every one reaches
    the receiver exactly once, whichever worker emitted it and whichever sent it."""
    state = str(tmp_path / "state.sqlite3")
    server = LiveServer(["--workers", "2", "--state", state, "--rate-limit", "0"])
    receiver = Receiver()
    try:
        # No keep-alive: each call a new connection, so both workers take some.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.base_url, timeout=10, limits=limits) as client:
            assert client.post("/_emulator/keys", json=TENANT).status_code == 201
            body = {
                "account_id": "acc_shared",
                "url": receiver.url,
                "events": "invitation_received",
            }
            assert client.post("/v2/webhooks", headers=KEY, json=body).status_code == 200
            for n in range(12):
                arrival = {"profile_url": f"https://www.linkedin.com/in/member-{n}-x"}
                made = client.post("/_emulator/accounts/acc_shared/invitations", json=arrival)
                assert made.status_code == 201
        events = receiver.wait(12, timeout=20)
        time.sleep(1.0)  # a second delivery of any would have come by now
        urls = [e["event"]["new_invitations"][0]["profile_url"] for e in receiver.events]
        assert sorted(urls) == sorted(
            f"https://www.linkedin.com/in/member-{n}-x/" for n in range(12)
        )
        assert len(events) == len(receiver.deliveries) == 12
    finally:
        receiver.close()
        server.stop()


def _count(state: str, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(state)) as db:
        (count,) = db.execute(sql).fetchone()
    return int(count)


def _emit(client: InProcessClient, account_id: str, api_key: str, key: str) -> None:
    hooks = client.app.state.webhooks

    async def go() -> None:
        account = await hooks.store.account(account_id)
        now = await hooks.emulator.now(api_key)
        await hooks.pipeline.emit(account, [GraphEvent("accepted_invitation", now, key, ())], now)

    client.run(go())


def _attempts(client: InProcessClient, count: int) -> list[tuple[int, str | None]]:
    deadline = time.monotonic() + 10
    while True:
        rows = client.get("/_emulator/requests", params={"api_key": "shared_key"}).json()["items"]
        found = [(r["status"], r["code"]) for r in rows if r["action"] == "webhook_delivery"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_slow_receiver_times_out_and_the_api_does_not_wait(tmp_path: Path) -> None:
    receiver = Receiver()
    original = receiver._take

    def slow(headers: dict[str, str], body: bytes) -> int:
        time.sleep(1.0)
        return original(headers, body)

    receiver._take = slow  # type: ignore[method-assign,assignment]
    settings = Settings(seed="slow", log_level="warning", rate_limit=0, webhook_timeout_s=0.2)
    client = InProcessClient(create_app(settings), base_url="http://emulator")
    try:
        assert client.post("/_emulator/keys", json=TENANT).status_code == 201
        body = {"account_id": "acc_shared", "url": receiver.url}
        assert client.post("/v2/webhooks", headers=KEY, json=body).status_code == 200
        _emit(client, "acc_shared", "shared_key", "slow-1")
        assert client.get("/v2/credits", headers=KEY).status_code == 200  # answered meanwhile
        assert receiver.deliveries == []  # the receiver still holds the delivery
        assert _attempts(client, 1) == [(0, "TIMEOUT")]
    finally:
        client.close()
        receiver.close()


def test_a_host_no_longer_allowed_is_not_sent_to(tmp_path: Path) -> None:
    """The hosts list is read at each attempt too: a state kept from a server that allowed a
    host, served by one that does not, sends it nothing."""
    state = str(tmp_path / "state.sqlite3")
    receiver = Receiver()
    loose = Settings(seed="h", log_level="warning", workers=2, state=state, webhook_hosts=["*"])
    strict = loose.model_copy(update={"webhook_hosts": ["localhost"]})
    first = InProcessClient(create_app(loose), base_url="http://emulator")
    second = InProcessClient(create_app(strict), base_url="http://emulator")
    try:
        assert first.post("/_emulator/keys", json=TENANT).status_code == 201
        body = {"account_id": "acc_shared", "url": receiver.url}
        assert first.post("/v2/webhooks", headers=KEY, json=body).status_code == 200
        first.app.state.webhooks.dispatcher.close()  # only the strict one sends
        second.app.state.webhooks.dispatcher.start()
        _emit(first, "acc_shared", "shared_key", "nowhere-1")
        assert _attempts(first, 1) == [(0, "HOST_NOT_ALLOWED")]
        assert receiver.connections == 0
    finally:
        first.close()
        second.close()
        receiver.close()


def test_the_documented_event_example_is_what_a_receiver_gets() -> None:
    """openapi.yaml's accepted_invitation example, replayed: default seed and fixtures, the
    clock frozen at its timestamp, the demo account invites jane-doe-42, who accepts."""
    spec = yaml.safe_load((Path(__file__).parents[1] / "openapi.yaml").read_text())
    post = spec["webhooks"]["accepted_invitation"]["post"]
    example = post["requestBody"]["content"]["application/json"]["example"]
    receiver = Receiver()
    settings = Settings(clock=example["timestamp"], log_level="warning")
    client = InProcessClient(create_app(settings), base_url="http://emulator")
    demo = {"x-api-key": "demo_key"}
    try:
        body = {"account_id": "acc_demo", "url": receiver.url, "events": ["accepted_invitation"]}
        assert client.post("/v2/webhooks", headers=demo, json=body).status_code == 200
        invite = {
            "account_id": "acc_demo",
            "action": "invite",
            "params": {"identifier": "jane-doe-42"},
        }
        urn = client.post("/v2/network", headers=demo, json=invite).json()["data"]["invitation_urn"]
        respond = f"/_emulator/accounts/acc_demo/invitations/{urn.rsplit(':', 1)[1]}/respond"
        assert client.post(respond, json={"response": "accept"}).status_code == 200
        assert receiver.wait(1) == [example]
    finally:
        client.close()
        receiver.close()


def test_a_delivery_whose_event_is_gone_is_ended_unsent(tmp_path: Path) -> None:
    """Queued while no process sent (the only sender stopped), then purged 24 emulated hours
    on: the next sender finds no event, and ends the delivery without a POST."""
    state = str(tmp_path / "state.sqlite3")
    receiver = Receiver()
    settings = Settings(seed="p", log_level="warning", workers=2, state=state, clock=START)
    first = InProcessClient(create_app(settings), base_url="http://emulator")
    second = InProcessClient(create_app(settings), base_url="http://emulator")
    try:
        assert first.post("/_emulator/keys", json=TENANT).status_code == 201
        body = {"account_id": "acc_shared", "url": receiver.url}
        assert first.post("/v2/webhooks", headers=KEY, json=body).status_code == 200
        first.app.state.webhooks.dispatcher.close()
        _emit(first, "acc_shared", "shared_key", "purged-1")
        moved = first.post("/_emulator/clock?api_key=shared_key", json={"advance_s": 86401})
        assert moved.status_code == 200  # its sweep purged the event
        queued = "SELECT COUNT(*) FROM webhook_deliveries"
        assert _count(state, queued) == 1
        second.app.state.webhooks.dispatcher.start()
        deadline = time.monotonic() + 10
        while _count(state, queued):  # the sender ends it
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (receiver.connections, _attempts(first, 0)) == (0, [])
    finally:
        first.close()
        second.close()
        receiver.close()
