"""Rate limits, forced errors (X-Emulator-Error), delays and replayable fault rules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from linkup_emulator.errors import FORCIBLE
from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from tests.support.clock import ManualClock
from tests.support.http import assert_error, balance, recommend
from tests.support.openapi import validate_response


def journal(client: TestClient, key: str = "demo_key") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/_emulator/requests", params={"api_key": key}).json()[
        "items"
    ]
    return items


@pytest.mark.parametrize("code", list(FORCIBLE))
def test_every_code_can_be_forced_by_header(client: TestClient, code: str) -> None:
    response = recommend(client, headers={"X-Emulator-Error": code})
    body = assert_error(response, FORCIBLE[code].status, code, "recommendations")
    validate_response("post", "/v2/network", response.status_code, body)
    if code == "RATE_LIMITED":
        assert int(response.headers["retry-after"]) >= 1
    assert balance(client) == 1000
    entry = journal(client)[-1]  # the oldest: the forced call (the balance call came after)
    assert (entry["status"], entry["code"], entry["injected"]) == (
        FORCIBLE[code].status,
        code,
        True,
    )


@pytest.mark.parametrize("path", ["/v2/credits", "/v2/accounts", "/v2/accounts/acc_demo"])
def test_header_forcing_works_on_every_v2_route(client: TestClient, path: str) -> None:
    response = client.get(
        path, headers={"x-api-key": "demo_key", "X-Emulator-Error": "RATE_LIMITED"}
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"


def test_forcing_needs_a_valid_key_first(client: TestClient) -> None:
    response = recommend(client, key="nope", headers={"X-Emulator-Error": "INSUFFICIENT_CREDITS"})
    assert_error(response, 403, "INVALID_API_KEY", "recommendations")


def test_forced_errors_do_not_count_toward_the_rate_limit(client: TestClient) -> None:
    headers = {"X-Emulator-Error": "INTERNAL_ERROR"}
    for _ in range(5):
        assert (
            recommend(client, "acc_throttled", key="throttled_key", headers=headers).status_code
            == 500
        )
    assert recommend(client, "acc_throttled", key="throttled_key").status_code == 200
    assert recommend(client, "acc_throttled", key="throttled_key").status_code == 200
    assert recommend(client, "acc_throttled", key="throttled_key").status_code == 429


def test_rate_limit_per_key_and_isolated(client: TestClient) -> None:
    client.patch("/_emulator/keys/demo_key", json={"rate_limit": 5})
    statuses = [recommend(client).status_code for _ in range(5)]
    assert statuses == [200] * 5
    limited = recommend(client)
    body = assert_error(limited, 429, "RATE_LIMITED", "recommendations")
    assert "5 requests per minute" in body["error"]["message"]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert balance(client, "other_key") == 1000  # another tenant is unaffected...
    assert recommend(client, "acc_other", key="other_key").status_code == 200
    assert (
        client.get("/_emulator/keys/demo_key").json()["credits"]["consumed"] == 5
    )  # 429s are free
    assert client.get("/v2/credits", headers={"x-api-key": "demo_key"}).status_code == 429


def test_rate_limit_window_resets() -> None:
    clock = ManualClock(1_000_000.0)
    settings = Settings(seed="t", rate_limit=2, log_level="warning")
    with TestClient(create_app(settings, wall=clock)) as client:
        assert [
            recommend(client, key="other_key", account="acc_other").status_code for _ in range(3)
        ] == [
            200,
            200,
            429,
        ]
        clock.advance(59.5)
        assert recommend(client, "acc_other", key="other_key").headers["retry-after"] == "1"
        clock.advance(0.5)
        assert recommend(client, "acc_other", key="other_key").status_code == 200


def test_server_default_rate_limit_applies_when_tenant_has_none() -> None:
    with TestClient(create_app(Settings(seed="t", rate_limit=1, log_level="warning"))) as client:
        assert recommend(client, "acc_other", key="other_key").status_code == 200
        assert recommend(client, "acc_other", key="other_key").status_code == 429
        assert recommend(client).status_code == 200  # demo_key pins its own 300


def test_times_rule_fails_twice_then_passes(client: TestClient) -> None:
    created = client.post(
        "/_emulator/faults",
        json={
            "match": {"api_key": "demo_key", "action": "recommendations"},
            "error": "RATE_LIMITED",
            "times": 2,
        },
    )
    assert created.status_code == 201
    validate_response("post", "/_emulator/faults", 201, created.json())
    assert created.json()["id"].startswith("flt_")
    statuses = [recommend(client).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert client.get("/_emulator/faults").json() == {"items": []}  # spent, retired
    assert [e["injected"] for e in journal(client)] == [False, True, True]


def test_rules_match_only_their_tenant_account_and_action(client: TestClient) -> None:
    client.post(
        "/_emulator/faults",
        json={"match": {"account_id": "acc_demo_fr"}, "error": "INVALID_ACCOUNT"},
    )
    assert recommend(client).status_code == 200
    assert recommend(client, "acc_demo_fr").status_code == 404
    assert recommend(client, "acc_other", key="other_key").status_code == 200
    client.delete("/_emulator/faults")
    client.post(
        "/_emulator/faults", json={"match": {"action": "get_credits"}, "error": "INTERNAL_ERROR"}
    )
    assert recommend(client).status_code == 200
    assert client.get("/v2/credits", headers={"x-api-key": "demo_key"}).status_code == 500


def pattern(client: TestClient, calls: int = 20) -> list[int]:
    return [recommend(client, count=1).status_code for _ in range(calls)]


PROBABLE = {"match": {"api_key": "demo_key"}, "error": "INTERNAL_ERROR", "probability": 0.5}


def test_probability_rule_replays_after_reset(client: TestClient) -> None:
    client.post("/_emulator/faults", json=PROBABLE)
    first = pattern(client)
    assert {200, 500} == set(first)
    client.post("/_emulator/reset")
    client.post("/_emulator/faults", json=PROBABLE)
    assert pattern(client) == first
    matched = client.get("/_emulator/faults").json()["items"][0]["matched"]
    assert matched == 20


def test_probability_pattern_depends_on_the_seed(settings: Settings) -> None:
    patterns = []
    for seed in ("seed-a", "seed-b"):
        with TestClient(create_app(settings.model_copy(update={"seed": seed}))) as client:
            client.post("/_emulator/faults", json=PROBABLE)
            patterns.append(pattern(client))
    assert patterns[0] != patterns[1]


@pytest.mark.parametrize(
    "rule",
    [
        {"match": {"api_key": "demo_key"}},  # neither error nor delay
        {"error": "TEAPOT"},
        {"error": "RATE_LIMITED", "times": 0},
        {"error": "RATE_LIMITED", "times": 10**30},  # past SQLite's 64 bits: was a 500
        {"error": "RATE_LIMITED", "times": 1e30},
        {"error": "RATE_LIMITED", "times": 1, "probability": 0.5},
        {"error": "RATE_LIMITED", "probability": 1.5},
        {"error": "RATE_LIMITED", "probability": "0.5"},
        {"delay_ms": 30_001},
        {"error": "RATE_LIMITED", "match": {"tenant": "x"}},
    ],
)
def test_bad_rules_are_rejected(client: TestClient, rule: dict[str, Any]) -> None:
    response = client.post("/_emulator/faults", json=rule)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMS"
    assert "Value error" not in response.json()["error"]["message"]
    assert client.get("/_emulator/faults").json() == {"items": []}


def test_delete_one_rule(client: TestClient) -> None:
    first = client.post("/_emulator/faults", json={"error": "INTERNAL_ERROR"}).json()["id"]
    client.post("/_emulator/faults", json={"delay_ms": 1})
    assert client.delete(f"/_emulator/faults/{first}").json() == {"deleted": 1}
    assert client.delete(f"/_emulator/faults/{first}").status_code == 404
    assert [r["delay_ms"] for r in client.get("/_emulator/faults").json()["items"]] == [1]
    assert client.delete("/_emulator/faults").json() == {"deleted": 1}


def test_delay_header_sleeps(client: TestClient) -> None:
    started = time.perf_counter()
    response = recommend(client, headers={"X-Emulator-Delay-Ms": "300"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert 0.29 <= elapsed < 3


def test_delay_rule_with_error(client: TestClient) -> None:
    client.post(
        "/_emulator/faults", json={"error": "INSUFFICIENT_CREDITS", "delay_ms": 200, "times": 1}
    )
    started = time.perf_counter()
    assert recommend(client).status_code == 402
    assert time.perf_counter() - started >= 0.19
    assert balance(client) == 1000


def test_a_delay_does_not_block_other_requests(settings: Settings) -> None:
    app = create_app(settings)

    async def race() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            body = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 1}}

            async def timed(headers: dict[str, str]) -> float:
                started = time.perf_counter()
                response = await client.post("/v2/network", json=body, headers=headers)
                assert response.status_code == 200
                return time.perf_counter() - started

            slow = asyncio.create_task(
                timed({"x-api-key": "demo_key", "X-Emulator-Delay-Ms": "1000"})
            )
            await asyncio.sleep(0.05)
            fast = await timed({"x-api-key": "demo_key"})
            return await slow, fast

    slow, fast = asyncio.run(race())
    assert slow >= 0.99
    assert fast < 0.5  # answered while the slow one was still sleeping


def test_admin_token_guards_faults() -> None:
    with TestClient(
        create_app(Settings(seed="t", admin_token="tok", log_level="warning"))
    ) as client:
        assert client.post("/_emulator/faults", json={"error": "INTERNAL_ERROR"}).status_code == 401
        assert client.get("/_emulator/faults").status_code == 401
        auth = {"authorization": "Bearer tok"}
        assert (
            client.post(
                "/_emulator/faults", json={"error": "INTERNAL_ERROR"}, headers=auth
            ).status_code
            == 201
        )
        assert recommend(client).status_code == 500


def test_a_delay_rule_does_not_hide_an_error_rule(client: TestClient) -> None:
    client.post("/_emulator/faults", json={"delay_ms": 1})
    client.post("/_emulator/faults", json={"error": "RATE_LIMITED", "times": 1})
    assert [recommend(client).status_code for _ in range(2)] == [429, 200]


def test_a_delay_header_leaves_error_rules_on(client: TestClient) -> None:
    client.post("/_emulator/faults", json={"error": "ACCOUNT_INACTIVE", "times": 1})
    assert recommend(client, headers={"X-Emulator-Delay-Ms": "0"}).status_code == 403
    assert recommend(client, headers={"X-Emulator-Delay-Ms": "0"}).status_code == 200


def test_an_error_header_wins_over_rules_and_spends_none(client: TestClient) -> None:
    client.post("/_emulator/faults", json={"error": "ACCOUNT_INACTIVE", "times": 1})
    forced = recommend(client, headers={"X-Emulator-Error": "INVALID_ACTION"})
    assert forced.json()["error"]["code"] == "INVALID_ACTION"
    assert recommend(client).status_code == 403  # the rule is still there


def test_a_ci_job_lists_and_clears_only_its_own_rules(client: TestClient) -> None:
    mine = {"match": {"api_key": "demo_key"}, "error": "INTERNAL_ERROR"}
    theirs = {"match": {"api_key": "other_key"}, "error": "INTERNAL_ERROR"}
    client.post("/_emulator/faults", json=mine)
    client.post("/_emulator/faults", json=theirs)
    listed = client.get("/_emulator/faults", params={"api_key": "demo_key"}).json()["items"]
    assert [rule["match"]["api_key"] for rule in listed] == ["****_key"]  # masked
    assert client.delete("/_emulator/faults", params={"api_key": "demo_key"}).json() == {
        "deleted": 1
    }
    assert recommend(client).status_code == 200
    assert recommend(client, "acc_other", key="other_key").status_code == 500
    assert client.get("/_emulator/faults", params={"api_key": ""}).status_code == 400
