"""pytest fixtures for users' suites: an in-process emulator and a live one on a free port.

Loaded automatically once linkup-emulator is installed (entry point `pytest11`):

    def test_pymk(linkup):
        response = linkup.recommendations(count=5)
        assert response.json()["data"]["total_results"] == 5

`linkup` drives the app in process (no socket); `linkup_live` starts the real server on a free
127.0.0.1 port and gives its `base_url`. Both hand each test a fresh tenant (its own key, account
and balance), tuned with `@pytest.mark.linkup(credits=5, rate_limit=2, country="FR", pool_size=3)`.

pytest loads every installed plugin into every suite, so this module imports nothing of the
emulator's at load time (FastAPI, pydantic, the generator): the in-process fixture builds the app
on first use, once per session.
"""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

DEFAULT_SEED = "linkup"


class LiveServer:
    """A `linkup-emulator` process on 127.0.0.1 with a free port, started and stopped by you."""

    def __init__(self, args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        command = [
            sys.executable,
            "-m",
            "linkup_emulator.cli",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ]
        command += args
        # Only what the caller passes configures it, not EMULATOR_* left in the shell.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**inherited, **(env or {})},
            text=True,
            start_new_session=True,  # its own process group, so kill() takes the workers too
        )
        assert self.process.stdout is not None
        # A server stuck before binding must not hang the test session: wait at most 30 s.
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        if "listening on " not in line:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"linkup-emulator did not start: {self._errors()}")
        self.base_url = line.split("listening on ", 1)[1].strip()
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        # One client for the whole wait: building one costs ~35 ms (httpx makes an SSL context).
        with httpx.Client(base_url=self.base_url, timeout=1) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get("/_emulator/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"linkup-emulator exited during start: {self._errors()}")
                time.sleep(0.02)
        raise RuntimeError("linkup-emulator did not become healthy")

    def _errors(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def kill(self) -> None:
        """SIGKILL the server and its workers at once: the crash a state file must survive."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.stop()


@dataclass
class Tenant:
    """A fresh tenant on an emulator, with a client that already sends its key."""

    client: httpx.Client
    api_key: str
    account_id: str
    base_url: str
    spec: dict[str, Any] = field(default_factory=dict)
    froze: bool = False  # this test froze the global clock; the fixture thaws it after

    def recommendations(self, count: int | None = 10, **body: Any) -> httpx.Response:
        payload: dict[str, Any] = {"account_id": self.account_id, "action": "recommendations"}
        payload["params"] = {} if count is None else {"count": count}
        payload.update(body)
        return self.client.post("/v2/network", json=payload)

    # The other /v2/network actions, over the account's graph (README, "The network").

    def action(self, action: str, **params: Any) -> httpx.Response:
        """POST /v2/network with this tenant's account; params left None are not sent."""
        sent = {k: v for k, v in params.items() if v is not None}
        body = {"account_id": self.account_id, "action": action, "params": sent}
        return self.client.post("/v2/network", json=body)

    def invite(
        self,
        profile_url: str | None = None,
        *,
        identifier: str | None = None,
        message: str | None = None,
    ) -> httpx.Response:
        return self.action(
            "invite", profile_url=profile_url, identifier=identifier, message=message
        )

    def accept(self, invitation: dict[str, Any]) -> httpx.Response:
        """Accept an invitation as list_invitations shows it (its entity_urn and secret)."""
        return self.action("accept", **_answer(invitation))

    def decline(self, invitation: dict[str, Any]) -> httpx.Response:
        return self.action("decline", **_answer(invitation))

    def withdraw(self, invitation_id: str) -> httpx.Response:
        """Withdraw a sent invitation: its bare id or either URN (list_sent's entity_urn)."""
        return self.action("withdraw", invitation_id=invitation_id)

    def check_invitation(self, profile_url: str) -> httpx.Response:
        return self.action("check_invitation", profile_url=profile_url)

    def list_connections(
        self, count: int | None = None, offset: int | None = None, *, use_cache: bool | None = None
    ) -> httpx.Response:
        return self.action("list_connections", count=count, offset=offset, use_cache=use_cache)

    def list_invitations(
        self,
        count: int | None = None,
        offset: int | None = None,
        invitation_type: str | None = None,
    ) -> httpx.Response:
        return self.action(
            "list_invitations", count=count, offset=offset, invitation_type=invitation_type
        )

    def list_sent(
        self,
        count: int | None = None,
        offset: int | None = None,
        invitation_type: str | None = None,
    ) -> httpx.Response:
        return self.action("list_sent", count=count, offset=offset, invitation_type=invitation_type)

    # The network from the control plane (SPEC 2.2).

    def network(self) -> dict[str, Any]:
        """Counts and the pending invitations both ways, with their fates."""
        response = self.client.get(f"/_emulator/accounts/{self.account_id}/network")
        response.raise_for_status()
        view: dict[str, Any] = response.json()
        return view

    def arrive(self, profile_url: str | None = None) -> dict[str, Any]:
        """A received invitation arrives now, from this member or a generated one."""
        body = {} if profile_url is None else {"profile_url": profile_url}
        response = self.client.post(f"/_emulator/accounts/{self.account_id}/invitations", json=body)
        response.raise_for_status()
        arrived: dict[str, Any] = response.json()
        return arrived

    def respond(self, invitation_id: str, response: str = "accept") -> dict[str, Any]:
        """The member answers a sent invitation now: "accept" or "decline"."""
        path = f"/_emulator/accounts/{self.account_id}/invitations/{invitation_id}/respond"
        answered = self.client.post(path, json={"response": response})
        answered.raise_for_status()
        outcome: dict[str, Any] = answered.json()
        return outcome

    def credits(self) -> int | None:
        balance: int | None = self.client.get("/v2/credits").json()["data"]["credits"]
        return balance

    def set_credits(self, credits: int | None) -> None:
        response = self.client.patch(f"/_emulator/keys/{self.api_key}", json={"credits": credits})
        response.raise_for_status()

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        rule.setdefault("match", {})["api_key"] = self.api_key
        response = self.client.post("/_emulator/faults", json=rule)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    def journal(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client.get(
            "/_emulator/requests", params={"api_key": self.api_key}
        ).json()["items"]
        return items

    # The emulated clock: this tenant's time is the global clock plus its own offset.

    def clock(self) -> dict[str, Any]:
        """`{"now", "frozen", "offset_s"}` as this tenant sees it."""
        return self._clock("GET")

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move this tenant's time forward (a rate window, an invitation's fate...)."""
        return self._clock("POST", {"advance_s": seconds})

    def set_clock(self, at: str | datetime) -> dict[str, Any]:
        """Move this tenant's time forward to an instant (ISO 8601 with a zone, or an aware
        datetime)."""
        instant = at.isoformat() if isinstance(at, datetime) else at
        return self._clock("POST", {"set": instant})

    def freeze(self, at: str | datetime | None = None) -> dict[str, Any]:
        """Stop time — the global clock, so every tenant's — and put this tenant's at `at`;
        if the clock ran before, the fixture starts it again after the test. Instants before
        the emulator's now can't be reached (time only moves forward): start it earlier
        (`linkup_clock`)."""
        if not self._clock("GET", tenant=False)["frozen"]:
            self._clock("POST", {"freeze": True}, tenant=False)
            self.froze = True
        return self.clock() if at is None else self.set_clock(at)

    def _clock(
        self, method: str, body: dict[str, Any] | None = None, *, tenant: bool = True
    ) -> dict[str, Any]:
        params = {"api_key": self.api_key} if tenant else {}
        response = self.client.request(method, "/_emulator/clock", params=params, json=body)
        if response.status_code != 200:
            raise AssertionError(f"the emulator refused the clock move {body}: {response.text}")
        view: dict[str, Any] = response.json()
        return view

    def _thaw(self) -> None:
        if self.froze:
            self._clock("POST", {"freeze": False}, tenant=False)
            self.froze = False


def _answer(invitation: dict[str, Any]) -> dict[str, Any]:
    return {"entity_urn": invitation["entity_urn"], "shared_secret": invitation["shared_secret"]}


# Marker options that belong to the tenant's account (its network, SPEC 3), not the tenant.
ACCOUNT_OPTIONS = (
    "connections",
    "pending_received",
    "pending_sent",
    "acceptance_rate",
    "weekly_invitation_limit",
    "premium",
)


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("linkup")
    return dict(marker.kwargs) if marker else {}


def _tenant_spec(request: pytest.FixtureRequest) -> dict[str, Any]:
    options = _marker_options(request)
    options.pop("clock", None)  # not the tenant's: where its time starts (see _started)
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    account = {
        "account_id": options.pop("account_id", f"acc_{digest}"),
        "country": options.pop("country", "US"),
        "pool_size": options.pop("pool_size", 1000),
        "status": options.pop("status", "active"),
    }
    account.update({k: options.pop(k) for k in ACCOUNT_OPTIONS if k in options})
    spec = {"api_key": options.pop("api_key", f"key_{digest}"), "credits": 1000, "rate_limit": 0}
    spec.update(options)
    spec["accounts"] = [account]
    return spec


def _started(tenant: Tenant, request: pytest.FixtureRequest) -> Iterator[Tenant]:
    """The tenant for the test, frozen at the marker's `clock` if it names one; the clock runs
    again after the test if the test (or the marker) froze it."""
    at = _marker_options(request).get("clock")
    if at is not None:
        tenant.freeze(at)
    try:
        yield tenant
    finally:
        tenant._thaw()


def _fresh_tenant(client: httpx.Client, base_url: str, request: pytest.FixtureRequest) -> Tenant:
    """The test's tenant through the control plane: a live server is another process."""
    spec = _tenant_spec(request)
    # A tenant left by an earlier run of this test is put back as it was created; else it's new.
    reset = client.post("/_emulator/reset", params={"api_key": spec["api_key"]})
    if reset.status_code != 200:
        created = client.post("/_emulator/keys", json=spec)
        if created.status_code != 201:  # e.g. another tenant holds this account id
            raise RuntimeError(f"could not create the test tenant {spec}: {created.text}")
    return _tenant(client, base_url, spec)


def _tenant(client: httpx.Client, base_url: str, spec: dict[str, Any]) -> Tenant:
    client.headers["x-api-key"] = spec["api_key"]
    return Tenant(client, spec["api_key"], spec["accounts"][0]["account_id"], base_url, spec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("linkup-emulator")
    group.addoption("--linkup-seed", default=None, help="seed of the emulator's generated data")
    parser.addini("linkup_seed", "seed of the emulator's generated data", default=DEFAULT_SEED)
    parser.addini(
        "linkup_clock",
        "where the emulator's clock starts: 'system', or an ISO 8601 instant (frozen there)",
        default="system",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "linkup(**tenant): options of the test's emulator tenant (credits, country...;"
        " clock='<instant>' starts it frozen there)",
    )


def _seed(config: pytest.Config) -> str:
    seed: str = config.getoption("--linkup-seed") or config.getini("linkup_seed")
    return seed


@pytest.fixture(scope="session")
def linkup_app(pytestconfig: pytest.Config) -> Iterator[Any]:
    """One in-process emulator for the session (tests stay isolated by tenant), and an httpx
    client of it: its requests are ASGI calls on the app, no socket."""
    from linkup_emulator.inprocess import InProcessClient
    from linkup_emulator.main import create_app
    from linkup_emulator.settings import Settings

    clock = str(pytestconfig.getini("linkup_clock"))
    settings = Settings(seed=_seed(pytestconfig), clock=clock, rate_limit=0, log_level="warning")
    app = create_app(settings)
    with InProcessClient(app, base_url="http://emulator", timeout=60) as client:
        yield client


@pytest.fixture
def linkup(linkup_app: Any, request: pytest.FixtureRequest) -> Iterator[Tenant]:
    """A fresh tenant on the in-process emulator; `linkup.client` is an httpx client, no network.

    The tenant is made in the store directly, on the app's own loop: two control-plane
    requests per test cost more than most tests (bench/plugin.py measures it)."""
    from pydantic import ValidationError

    from linkup_emulator.models import TenantSpec

    spec = _tenant_spec(request)
    try:
        tenant = TenantSpec.model_validate(spec)
    except ValidationError as error:
        raise RuntimeError(f"could not create the test tenant {spec}: {error}") from error
    store = linkup_app.app.state.emulator.store
    # New, or left by an earlier run of this test: then put back as it was created.
    born = linkup_app.run(linkup_app.app.state.emulator.now())
    made = linkup_app.run(store.create_tenant(tenant, born=born))
    if not made and not linkup_app.run(store.reset(tenant.api_key)):
        raise RuntimeError(f"could not create the test tenant {spec}: an account id is taken")
    yield from _started(_tenant(linkup_app, "http://emulator", spec), request)


@pytest.fixture(scope="session")
def linkup_server(pytestconfig: pytest.Config) -> Iterator[LiveServer]:
    clock = str(pytestconfig.getini("linkup_clock"))
    server = LiveServer(["--seed", _seed(pytestconfig), "--clock", clock, "--log-level", "warning"])
    yield server
    server.stop()


@pytest.fixture
def linkup_live(linkup_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Tenant]:
    """A fresh tenant on a real server at `linkup_live.base_url` (127.0.0.1, free port)."""
    with httpx.Client(base_url=linkup_server.base_url, timeout=30) as client:
        yield from _started(_fresh_tenant(client, linkup_server.base_url, request), request)


# -- a webhook receiver -----------------------------------------------------------------------


@dataclass
class Delivery:
    """One POST the receiver got: its headers (lower-case names), raw body, and whether its
    signature checked out against the receiver's secret (None: no secret to check with)."""

    headers: dict[str, str]
    body: bytes
    verified: bool | None
    status: int  # what the receiver answered

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) that takes webhook deliveries: `url` is what
    to register; with `secret` set, each delivery's X-Linkup-Signature is verified with the
    vendor's scheme (v1=hex hmac_sha256(secret, "<timestamp>.<body>"), skew at most 5 min)
    and a bad one answered 401. `fail(n)` answers the next n deliveries 500."""

    SKEW_S = 300

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.secret: str | None = None
        self.deliveries: list[Delivery] = []
        self._failures = 0
        self._changed = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = receiver._take(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:  # quiet: pytest shows what failed
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 refuses a burst of deliveries
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with receiver._changed:
                    receiver.connections += 1
                return True

        self.connections = 0  # TCP connections accepted, deliveries or not
        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _take(self, raw: dict[str, str], body: bytes) -> int:
        headers = {k.lower(): v for k, v in raw.items()}
        verified = None if self.secret is None else self.verify(headers, body, self.secret)
        with self._changed:
            if self._failures:
                self._failures -= 1
                status = 500
            else:
                status = 401 if verified is False else 200
            self.deliveries.append(Delivery(headers, body, verified, status))
            self._changed.notify_all()
        return status

    @classmethod
    def verify(cls, headers: dict[str, str], body: bytes, secret: str) -> bool:
        import hashlib
        import hmac

        stamp = headers.get("x-linkup-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > cls.SKEW_S:
            return False
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(f"v1={mac.hexdigest()}", headers.get("x-linkup-signature", ""))

    def fail(self, times: int) -> None:
        with self._changed:
            self._failures = times

    @property
    def events(self) -> list[Any]:
        """The bodies of the deliveries accepted (answered 200), in arrival order."""
        with self._changed:
            return [d.json() for d in self.deliveries if d.status == 200]

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Any]:
        """Block until `count` deliveries were accepted; their bodies."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(d.status == 200 for d in self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{count} webhook deliveries expected within {timeout} s; got"
                        f" {[(d.status, d.body[:80]) for d in self.deliveries]}"
                    )
                self._changed.wait(left)
        return self.events

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def linkup_receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1: register `linkup_receiver.url`, set `.secret` to the
    one the create call returned, then `.wait()` for the verified events."""
    receiver = Receiver()
    yield receiver
    receiver.close()
