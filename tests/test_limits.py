"""Issue 17's limits and guards, in process: the Host policy and same-origin rule, the caps on
fault rules and metric series, the people cache's bytes, steady time, store failures in the
envelope and in health. (tests/test_hardening.py drives them on a real server.)"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from linkup_emulator import control
from linkup_emulator.api.guard import HostPolicy, _same_origin
from linkup_emulator.cli import raise_open_files
from linkup_emulator.clock import EmulatedClock, SteadyClock
from linkup_emulator.generator import PeopleGenerator
from linkup_emulator.main import create_app
from linkup_emulator.observability import metrics
from linkup_emulator.observability.metrics import Metrics
from linkup_emulator.settings import Settings

CALL = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 1}}


@pytest.mark.parametrize(
    ("host", "served"),
    [
        ("localhost", True),
        ("localhost:8000", True),
        ("LOCALHOST.:8000", True),
        ("app.localhost", True),
        ("127.0.0.1:9", True),
        ("[::1]:8000", True),
        ("10.1.2.3", True),  # an address: no rebinding attack can send one
        ("emulator:8000", True),
        ("bound.example", True),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
        ("", False),
    ],
)
def test_the_hosts_served(host: str, served: bool) -> None:
    policy = HostPolicy(Settings().allowed_hosts, "bound.example")
    assert policy.serves(host) is served


def test_any_host_and_a_wildcard_bind() -> None:
    assert HostPolicy(["*"], "127.0.0.1").serves("attacker.example")
    assert not HostPolicy(["localhost"], "0.0.0.0").serves("0.0.0.0.example")


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost", "localhost:80", True),
        ("https://localhost", "localhost", False),  # the request came over http
        ("http://localhost:8001", "localhost:8000", False),
        ("null", "localhost", False),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://x:99999", "x", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert _same_origin(origin, host, "http") is same


def test_an_origin_listed_for_cors_may_write(tmp_path: Path) -> None:
    settings = Settings(log_level="warning", cors_origins=["http://app.example:3000"])
    with TestClient(create_app(settings)) as client:
        listed = client.post("/_emulator/reset", headers={"origin": "http://app.example:3000"})
        assert listed.status_code == 200
        other = client.post("/_emulator/reset", headers={"origin": "http://other.example"})
        assert other.status_code == 403


def test_fault_rules_are_capped_per_key_and_in_all(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "MAX_FAULTS_PER_KEY", 2)
    monkeypatch.setattr(control, "MAX_FAULTS", 3)
    rule = {"error": "INTERNAL_ERROR", "match": {"api_key": "nobody"}}
    assert client.post("/_emulator/faults", json=rule).status_code == 201
    assert client.post("/_emulator/faults", json=rule).status_code == 201
    per_key = client.post("/_emulator/faults", json=rule)
    assert per_key.status_code == 409
    assert "per key" in per_key.json()["error"]["message"]
    other = {"error": "INTERNAL_ERROR", "match": {"api_key": "nobody_else"}}
    assert client.post("/_emulator/faults", json=other).status_code == 201
    in_all = client.post("/_emulator/faults", json=other)
    assert in_all.status_code == 409
    assert client.get("/_emulator/faults").json()["items"][0]["match"]["api_key"] == "**body"
    assert client.post("/v2/network", json=CALL, headers={"x-api-key": "demo_key"}).is_success


def test_tenant_series_are_capped_and_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "MAX_TENANT_SERIES", 2)
    kept = Metrics()
    for key in ("a_key", "b_key", "c_key", "d_key"):
        kept.observe("/v2/network", 200, None, 0.01, api_key=key, credits=1)
    text = kept.exposition()[0].decode()
    assert 'tenant="other"} 2.0' in text
    kept.forget("a_key")
    kept.forget("c_key")  # in "other": that series stays for d_key
    text = kept.exposition()[0].decode()
    assert text.count('consumed_total{tenant="*_key#') == 1  # b_key's alone
    assert 'tenant="other"' in text
    kept.forget(None)
    assert "emulator_credits_consumed_total{" not in kept.exposition()[0].decode()


def test_the_journal_bound_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Settings(journal_size=10_000_000)


def test_the_people_cache_keeps_within_its_bytes() -> None:
    people = PeopleGenerator("seed", cache_bytes=300_000)
    pools = [people.pool(f"acc_{i}", "US", 1000) for i in range(8)]
    for pool in pools:
        pool.json_array(200)  # ~110 kB each
        assert people.nbytes <= 300_000 + pool.nbytes
    assert len(people._pools) < 8  # older ones went
    again = people.pool("acc_7", "US", 1000)
    assert again is pools[-1]  # the newest stayed
    evicted = pools[0]
    evicted.json_array(300)  # an evicted pool in use still works, outside the count
    assert people.nbytes <= 300_000 + again.nbytes
    with pytest.raises(ValueError, match="cache_bytes"):
        PeopleGenerator("seed", cache_bytes=0)


def test_emulated_time_never_steps_back_with_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steady = SteadyClock()
    before = steady.now()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3600)  # the wall clock stepped back
    assert steady.now() >= before
    assert isinstance(EmulatedClock().wall, SteadyClock)


def test_the_open_file_limit_is_raised_to_its_hard_limit() -> None:
    soft = raise_open_files()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert soft == hard or hard == resource.RLIM_INFINITY


def test_a_deleted_state_file_fails_writes_clearly_and_health_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    settings = Settings(log_level="critical", state=str(state))
    with TestClient(create_app(settings)) as client:
        assert client.get("/_emulator/health").json()["status"] == "ok"
        state.unlink()
        call = client.post("/v2/network", json=CALL, headers={"x-api-key": "demo_key"})
        assert call.status_code == 500
        assert call.json()["error"]["code"] == "INTERNAL_ERROR"
        assert "deleted or replaced" in call.json()["error"]["message"]
        reset = client.post("/_emulator/reset")
        assert reset.status_code == 500
        assert reset.json()["error"]["code"] == "INTERNAL_ERROR"  # the control plane's shape
        health = client.get("/_emulator/health")
        assert health.status_code == 503
        assert "deleted" in health.json()["reason"]
        assert client.get("/_emulator/requests").status_code == 200  # reads go on
