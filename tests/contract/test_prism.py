"""Prism, Stoplight's validating proxy, in front of a live emulator: the generated client's
traffic (tests/contract/traffic.py) and a few raw requests pass through it, and Prism finds no
response that breaks openapi.yaml, and no request that does but those sent off-contract on
purpose (which it must flag, each of them).

Prism runs without `--errors`, so it relays every answer and reports what it found in the
`sl-violations` header. Two of its limits are checked here too, as the README states them:
with `--errors` it answers a missing key itself with 401 (the vendor answers 403), and it
cannot relay HEAD of a GET that answers JSON.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from linkup_emulator.pytest_plugin import LiveServer
from tests.contract.traffic import Exchange, Traffic, drive
from tests.support.servers import free_port, stop_process
from tests.support.tools import REPO, SPEC, env, npm_tool

pytestmark = pytest.mark.slow

Generated = tuple[ModuleType, list[str]]


class Prism:
    """`prism proxy openapi.yaml <upstream>` on 127.0.0.1, stopped by you."""

    def __init__(self, upstream: str, *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            [
                npm_tool("prism"),
                "proxy",
                SPEC,
                upstream,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *options,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"prism exited: {self.output()}")
                try:
                    client.get("/_emulator/health")
                    return
                except httpx.TransportError:
                    time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prism did not start: {self.output()}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[LiveServer]:
    live = LiveServer(["--seed", "prism", "--log-level", "warning"])
    yield live
    live.stop()


@pytest.fixture(scope="module")
def prism(emulator: LiveServer) -> Iterator[Prism]:
    proxy = Prism(emulator.base_url)
    yield proxy
    proxy.stop()


def _violations(exchange: Exchange) -> list[dict[str, object]]:
    if exchange.violations is None:
        return []
    found: list[dict[str, object]] = json.loads(exchange.violations)
    return found


def _raw(traffic: Traffic, prism: Prism) -> None:
    """What the generated client cannot send, straight through Prism."""
    with httpx.Client(
        base_url=prism.url, event_hooks={"response": [traffic._record]}, timeout=10
    ) as raw:
        key = {"x-api-key": "demo_key"}
        # on the contract: the emulator's answer is documented
        assert raw.get("/v2/accounts/a%2Fb", headers=key).status_code == 404
        assert raw.get("/v2/accounts?count=2", headers=key).status_code == 400
        assert raw.get("/v2/credits", headers={"x-api-key": "nope"}).status_code == 403
        body = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 1000}}
        assert raw.post("/v2/network", json=body, headers=key).status_code == 200
        throttled = {"x-api-key": "throttled_key"}
        body = {"account_id": "acc_throttled", "action": "recommendations"}
        statuses = [
            raw.post("/v2/network", json=body, headers=throttled).status_code for _ in "123"
        ]
        assert statuses == [200, 200, 429]
        # off it, on purpose: Prism must say so
        with traffic.off_contract():
            bad = raw.post(
                "/v2/network", content=b"{oops", headers={**key, "content-type": "text/plain"}
            )
            assert bad.status_code == 400
            invite = {"account_id": "acc_demo", "action": "invite"}
            assert raw.post("/v2/network", json=invite, headers=key).status_code == 400
            assert raw.get("/v2/profiles", headers=key).status_code == 404
            assert raw.get("/v2/profiles").status_code == 403
            assert raw.delete("/v2/credits", headers=key).status_code == 405


def test_prism_finds_no_violation_in_the_traffic(generated: Generated, prism: Prism) -> None:
    package, _ = generated
    # Prism cannot relay HEAD of a JSON GET (test_prism_cannot_relay_head_of_json below).
    with Traffic(package, prism.url, json_heads=False) as traffic:
        drive(traffic)
        _raw(traffic, prism)
    assert len(traffic.seen) >= 60
    for exchange in traffic.seen:
        found = _violations(exchange)
        on_response = [v for v in found if v["location"][0] == "response"]  # type: ignore[index]
        assert on_response == [], (exchange, prism.output())
        if exchange.off_contract and exchange.prism_sees_it:
            assert found, f"Prism found nothing off-contract in {exchange}"
        elif not exchange.off_contract:
            assert found == [], exchange
    flagged = [exchange for exchange in traffic.seen if exchange.off_contract]
    assert len(flagged) >= 12


def test_prism_cannot_relay_head_of_json(prism: Prism, emulator: LiveServer) -> None:
    """Prism's proxy parses every upstream body declared application/json (only a 204 is
    spared), so the bodyless HEAD of a JSON GET becomes its own 500. The emulator's HEAD is
    right (the GET's headers, no body): straight to it, HEAD works."""
    key = {"x-api-key": "demo_key"}
    direct = httpx.head(f"{emulator.base_url}/v2/credits", headers=key)
    assert (direct.status_code, direct.content) == (200, b"")
    assert direct.headers["content-type"] == "application/json"
    through = httpx.head(f"{prism.url}/v2/credits", headers=key)
    assert through.status_code == 500
    assert through.headers["content-type"] == "application/problem+json"
    assert httpx.head(f"{prism.url}/metrics").status_code == 200  # text: relayed


def test_prism_with_errors_answers_a_missing_key_itself(emulator: LiveServer) -> None:
    """With `--errors`, Prism answers a request without the required security scheme with its
    own 401; the vendor (and so the emulator) answers 403 INVALID_API_KEY. The contract keeps
    the vendor's 403 (README, "OpenAPI tools")."""
    strict = Prism(emulator.base_url, "--errors")
    try:
        answer = httpx.get(f"{strict.url}/v2/credits")
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        direct = httpx.get(f"{emulator.base_url}/v2/credits")
        assert direct.status_code == 403
        assert direct.json()["error"]["code"] == "INVALID_API_KEY"
    finally:
        strict.stop()
