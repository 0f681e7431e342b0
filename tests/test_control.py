"""The /_emulator control plane: tenants, patching, reset, the journal and the admin token."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

from linkup_emulator.main import create_app, run_sync
from linkup_emulator.settings import Settings
from tests.support.http import assert_error, balance, recommend
from tests.support.openapi import validate_request_body, validate_response

TENANT: dict[str, Any] = {
    "api_key": "ci_job_1234",
    "credits": 30,
    "rate_limit": 0,
    "accounts": [{"account_id": "acc_ci", "country": "FR", "pool_size": 40}],
}


def test_health(client: TestClient) -> None:
    body = client.get("/_emulator/health").json()
    assert body == {
        "status": "ok",
        "version": body["version"],
        "store": "memory",
        "uptime_s": body["uptime_s"],
    }
    validate_response("get", "/_emulator/health", 200, body)


def test_create_tenant_then_use_it(client: TestClient) -> None:
    created = client.post("/_emulator/keys", json=TENANT)
    assert created.status_code == 201
    validate_response("post", "/_emulator/keys", 201, created.json())
    assert created.json() == {
        "api_key": "*******1234",
        "credits": {"balance": 30, "consumed": 0},
        "rate_limit": 0,
        "accounts": [
            {
                "account_id": "acc_ci",
                "status": "active",
                "country": "FR",
                "calls": 0,
                "credits_consumed": 0,
            }
        ],
    }
    assert recommend(client, "acc_ci", 15, key="ci_job_1234").status_code == 200
    report = client.get("/_emulator/keys/ci_job_1234").json()
    assert report["credits"] == {"balance": 28, "consumed": 2}
    assert report["accounts"][0]["calls"] == 1
    assert report["accounts"][0]["credits_consumed"] == 2


@pytest.mark.parametrize(
    "spec",
    [
        {**TENANT, "api_key": "demo_key"},  # key taken
        {**TENANT, "accounts": [{"account_id": "acc_demo"}]},  # account owned by someone else
        {**TENANT, "accounts": [{"account_id": "a"}, {"account_id": "a"}]},  # listed twice
    ],
    ids=["key-exists", "account-exists", "account-twice"],
)
def test_create_conflicts(client: TestClient, spec: dict[str, Any]) -> None:
    response = client.post("/_emulator/keys", json=spec)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert balance(client) == 1000


# Not RFC 3339 date-times: no offset, a date alone, a space for "T", an offset out of range,
# an offset without its colon, a year past 9999 once in UTC.
BAD_CREATED_AT = (
    "2026-01-01T00:00:00",
    "2026-01-01",
    "2026-01-01 00:00:00Z",
    "2026-01-01T00:00:00+25:00",
    "2026-01-01T00:00:00+0200",
    "2026-01-01T00:00:00+00:60",
    "\u0662\u0660\u0662\u0666-01-01T00:00:00Z",  # Arabic-Indic digits
    "9999-12-31T23:00:00-02:00",
)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00Z"),  # Python's isoformat()
        ("2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00Z"),
        ("2025-12-31T19:30:00-04:30", "2026-01-01T00:00:00Z"),
        ("2026-01-01T00:00:00.999999Z", "2026-01-01T00:00:00Z"),  # dropped, not rounded up
        ("2026-01-01T01:00:00.5+01:00", "2026-01-01T00:00:00Z"),
        ("2026-01-01t00:00:00z", "2026-01-01T00:00:00Z"),  # RFC 3339 allows lower case
    ],
)
def test_created_at_takes_any_rfc3339_offset_and_answers_utc(
    client: TestClient, given: str, stored: str
) -> None:
    spec = {**TENANT, "accounts": [{"account_id": "acc_when", "created_at": given}]}
    validate_request_body("POST", "/_emulator/keys", spec)
    assert client.post("/_emulator/keys", json=spec).status_code == 201
    answer = client.get("/v2/accounts/acc_when", headers={"x-api-key": TENANT["api_key"]})
    assert answer.status_code == 200
    assert answer.json()["data"]["created_at"] == answer.json()["data"]["updated_at"] == stored
    validate_response("GET", "/v2/accounts/{account_id}", 200, answer.json())


@pytest.mark.parametrize("bad", BAD_CREATED_AT)
def test_the_contract_refuses_what_the_server_refuses_as_created_at(bad: str) -> None:
    spec = {**TENANT, "accounts": [{"account_id": "acc_when", "created_at": bad}]}
    if bad.startswith("9999"):  # a pattern cannot see the year overflow; the server does
        validate_request_body("POST", "/_emulator/keys", spec)
        return
    with pytest.raises(AssertionError, match="created_at"):
        validate_request_body("POST", "/_emulator/keys", spec)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({**TENANT, "credits": -1}, "credits"),
        ({**TENANT, "credits": "10"}, "credits"),
        ({**TENANT, "surprise": 1}, "surprise"),
        ({**TENANT, "api_key": ""}, "api_key"),
        ({**TENANT, "accounts": [{"account_id": "a", "country": "XX"}]}, "country"),
        ({**TENANT, "accounts": [{"account_id": "a", "status": "asleep"}]}, "status"),
        ({**TENANT, "accounts": [{"account_id": "a", "pool_size": 10_001}]}, "pool_size"),
        # Keys travel in a header: what no HTTP client can send there is refused up front.
        ({**TENANT, "api_key": "k\u00e9y"}, "api_key"),
        ({**TENANT, "api_key": "k\U0001f600"}, "api_key"),
        ({**TENANT, "api_key": "k\u0000nul"}, "api_key"),
        ({**TENANT, "api_key": "k y"}, "api_key"),
        (
            {**TENANT, "accounts": [{"account_id": "a", "created_at": "2025-99-99T99:99:99Z"}]},
            "created_at",
        ),
        (
            {**TENANT, "accounts": [{"account_id": "a", "created_at": "2025-02-30T00:00:00Z"}]},
            "created_at",
        ),
        *(
            ({**TENANT, "accounts": [{"account_id": "a", "created_at": bad}]}, "created_at")
            for bad in BAD_CREATED_AT
        ),
        ({**TENANT, "credits": None, "display_credits": -1}, "display_credits"),
        ({**TENANT, "credits": None, "display_credits": "many"}, "display_credits"),
        ({**TENANT, "credits": None, "display_credits": 1.5}, "display_credits"),
    ],
    ids=[
        "negative",
        "string",
        "unknown-field",
        "empty-key",
        "country",
        "status",
        "pool",
        "key-latin1",
        "key-emoji",
        "key-nul",
        "key-space",
        "created-month-99",
        "created-feb-30",
        *(f"created-{bad}" for bad in BAD_CREATED_AT),
        "display-negative",
        "display-string",
        "display-fraction",
    ],
)
def test_create_rejects_bad_specs(client: TestClient, spec: dict[str, Any], field: str) -> None:
    response = client.post("/_emulator/keys", json=spec)
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]
    assert "Value error" not in response.json()["error"]["message"]
    if spec["api_key"] != "demo_key" and spec["api_key"]:
        assert client.get(f"/_emulator/keys/{quote(spec['api_key'], safe='')}").status_code == 404


def test_create_rejects_malformed_json(client: TestClient) -> None:
    response = client.post("/_emulator/keys", content=b"{oops")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PARAMS"


def test_patch_credits_and_rate_limit(client: TestClient) -> None:
    response = client.patch("/_emulator/keys/demo_key", json={"credits": 3, "rate_limit": 1})
    assert response.status_code == 200
    assert response.json()["credits"]["balance"] == 3
    assert response.json()["rate_limit"] == 1
    assert recommend(client, count=30).status_code == 200
    assert_error(recommend(client, count=1), 429, "RATE_LIMITED", "recommendations")
    client.patch("/_emulator/keys/demo_key", json={"credits": None, "rate_limit": 0})
    assert recommend(client, count=1000).status_code == 200
    # Unmetered now: /v2/credits shows the balance that never goes down (SPEC 1.3) ...
    assert balance(client) == 1_000_000
    # ... and the control plane keeps the emulator's own view of it.
    assert client.get("/_emulator/keys/demo_key").json()["credits"]["balance"] is None


@pytest.mark.parametrize("patch", [{}, {"credits": -5}, {"balance": 5}, {"rate_limit": 1.5}])
def test_patch_rejects_bad_bodies(client: TestClient, patch: dict[str, Any]) -> None:
    assert client.patch("/_emulator/keys/demo_key", json=patch).status_code == 400
    assert balance(client) == 1000


def test_patch_unknown_key_is_404(client: TestClient) -> None:
    assert client.patch("/_emulator/keys/nope", json={"credits": 1}).status_code == 404
    assert client.get("/_emulator/keys/nope").status_code == 404


def test_account_status(client: TestClient) -> None:
    response = client.patch("/_emulator/accounts/acc_demo", json={"status": "inactive"})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_error(recommend(client), 403, "ACCOUNT_INACTIVE", "recommendations")
    client.patch("/_emulator/accounts/acc_demo", json={"status": "active"})
    assert recommend(client).status_code == 200
    assert (
        client.patch("/_emulator/accounts/acc_nope", json={"status": "active"}).status_code == 404
    )
    assert client.patch("/_emulator/accounts/acc_demo", json={"status": "gone"}).status_code == 400


def test_reset_all_goes_back_to_fixtures(client: TestClient) -> None:
    client.post("/_emulator/keys", json=TENANT)
    recommend(client, count=100)
    client.patch("/_emulator/accounts/acc_demo", json={"status": "inactive"})
    client.post(
        "/_emulator/faults", json={"error": "INTERNAL_ERROR", "match": {"api_key": "other_key"}}
    )
    response = client.post("/_emulator/reset")
    assert response.json() == {"reset": "all", "api_key": None}
    assert client.get("/_emulator/requests").json()["total"] == 0
    assert balance(client) == 1000
    assert client.get("/_emulator/keys/ci_job_1234").status_code == 404
    assert client.get("/_emulator/faults").json() == {"items": []}
    assert recommend(client).status_code == 200


def test_reset_one_tenant_leaves_others_untouched(client: TestClient) -> None:
    client.post("/_emulator/keys", json=TENANT)
    recommend(client, "acc_ci", 20, key="ci_job_1234")
    recommend(client, count=100)
    client.patch("/_emulator/keys/ci_job_1234", json={"rate_limit": 7})
    response = client.post("/_emulator/reset", params={"api_key": "ci_job_1234"})
    assert response.json() == {"reset": "tenant", "api_key": "*******1234"}
    report = client.get("/_emulator/keys/ci_job_1234").json()
    assert report["credits"] == {"balance": 30, "consumed": 0}  # as it was created
    assert report["rate_limit"] == 0
    assert balance(client) == 990  # demo_key untouched
    assert client.get("/_emulator/requests", params={"api_key": "ci_job_1234"}).json()["total"] == 0
    assert client.get("/_emulator/requests", params={"api_key": "demo_key"}).json()["total"] >= 1
    assert client.post("/_emulator/reset", params={"api_key": "nope"}).status_code == 404


def test_a_call_in_flight_when_its_tenant_is_reset_away_is_refused_as_a_bad_key(
    settings: Settings,
) -> None:
    """Reset removes a runtime tenant while its (delayed) call waits: the call must not be billed
    nor answered 402 as if the tenant were broke; the key no longer exists."""
    app = create_app(settings)

    async def race() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            assert (await client.post("/_emulator/keys", json=TENANT)).status_code == 201
            body = {"account_id": "acc_ci", "action": "recommendations", "params": {"count": 5}}
            headers = {"x-api-key": "ci_job_1234", "X-Emulator-Delay-Ms": "300"}
            call = asyncio.create_task(client.post("/v2/network", json=body, headers=headers))
            await asyncio.sleep(0.1)
            assert (await client.post("/_emulator/reset")).status_code == 200
            return await call

    response = asyncio.run(race())
    assert_error(response, 403, "INVALID_API_KEY", "recommendations")
    assert run_sync(app.state.emulator.store.tenant("ci_job_1234")) is None


def test_journal_newest_first_filtered_and_masked(client: TestClient) -> None:
    recommend(client, count=20)
    recommend(client, "acc_nope")
    recommend(client, "acc_other", key="other_key", count=5)
    body = client.get("/_emulator/requests", params={"api_key": "demo_key"}).json()
    validate_response("get", "/_emulator/requests", 200, body)
    assert body["total"] == 2
    newest, oldest = body["items"]
    assert (newest["status"], newest["code"], newest["credits"]) == (404, "INVALID_ACCOUNT", 0)
    assert (oldest["status"], oldest["code"], oldest["credits"]) == (200, None, 2)
    assert oldest["api_key"] == "****_key"
    assert (oldest["action"], oldest["injected"]) == ("recommendations", False)
    assert "demo_key" not in client.get("/_emulator/requests").text
    by_account = client.get("/_emulator/requests", params={"account_id": "acc_other"}).json()
    assert [i["account_id"] for i in by_account["items"]] == ["acc_other"]
    assert len(client.get("/_emulator/requests", params={"limit": 1}).json()["items"]) == 1
    assert client.get("/_emulator/requests", params={"limit": 0}).status_code == 400


def test_journal_is_bounded_over_http() -> None:
    settings = Settings(seed="t", journal_size=25, log_level="warning", rate_limit=0)
    with TestClient(create_app(settings)) as client:
        for _ in range(60):
            client.get("/v2/credits", headers={"x-api-key": "demo_key"})
        body = client.get("/_emulator/requests", params={"limit": 1000}).json()
    assert body["total"] == len(body["items"]) == 25


ADMIN_ROUTES = [
    ("POST", "/_emulator/reset"),
    ("POST", "/_emulator/keys"),
    ("GET", "/_emulator/keys/demo_key"),
    ("PATCH", "/_emulator/keys/demo_key"),
    ("PATCH", "/_emulator/accounts/acc_demo"),
    ("GET", "/_emulator/requests"),
    ("POST", "/_emulator/faults"),
    ("GET", "/_emulator/faults"),
    ("DELETE", "/_emulator/faults"),
    ("DELETE", "/_emulator/faults/flt_1"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_token_guards_every_route_but_health(method: str, path: str) -> None:
    settings = Settings(seed="t", admin_token="s3cret", log_level="warning")
    with TestClient(create_app(settings)) as client:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic s3cret"}):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
        allowed = client.request(method, path, headers={"authorization": "Bearer s3cret"})
        assert client.get("/_emulator/health").status_code == 200
    # With the token, each route answers exactly as it does on a server without one.
    with TestClient(create_app(Settings(seed="t", log_level="warning"))) as open_client:
        assert allowed.status_code == open_client.request(method, path).status_code


def test_calls_that_return_nobody_are_recorded_and_free(client: TestClient) -> None:
    for _ in range(3):
        assert recommend(client, "acc_empty").json()["metadata"]["credits_consumed"] == 0
    usage = client.get("/_emulator/keys/demo_key").json()["accounts"]
    empty = next(a for a in usage if a["account_id"] == "acc_empty")
    assert (empty["calls"], empty["credits_consumed"]) == (3, 0)
    assert balance(client) == 1000


@pytest.mark.parametrize("bad_id", ["a/b", "with space", "tab\there"])
def test_ids_must_fit_in_a_url_path(client: TestClient, bad_id: str) -> None:
    as_account = {**TENANT, "accounts": [{"account_id": bad_id}]}
    assert client.post("/_emulator/keys", json=as_account).status_code == 400
    assert client.post("/_emulator/keys", json={**TENANT, "api_key": bad_id}).status_code == 400


def test_control_bodies_are_bounded(client: TestClient) -> None:
    huge = {**TENANT, "padding": "x" * 100_000}
    response = client.post("/_emulator/keys", json=huge)
    assert response.status_code == 400
    assert "KiB" in response.json()["error"]["message"]


def test_journal_survives_a_reset_only_as_empty(client: TestClient) -> None:
    for _ in range(5):
        recommend(client)
    client.post("/_emulator/reset")
    assert client.get("/_emulator/requests").json() == {"items": [], "total": 0}


# Characters some regex flavour's `\s` leaves out: pydantic's (Rust) lacks U+FEFF, JSON
# Schema's (ECMA-262) lacks U+0085, Python's adds U+001C-001F. schemathesis found U+0085.
WHITESPACE = ["\t", " ", "\x1c", "\x85", "\xa0", "\u1680", "\u2007", "\u2028", "\u3000", "\ufeff"]


@pytest.mark.parametrize("char", WHITESPACE, ids=[f"U+{ord(c):04X}" for c in WHITESPACE])
def test_whitespace_in_an_account_id_is_refused_by_the_server_and_the_contract(
    client: TestClient, char: str
) -> None:
    spec = {"api_key": "ws_key", "accounts": [{"account_id": f"acc{char}1"}]}
    response = client.post("/_emulator/keys", json=spec)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("accounts.0.account_id: ")
    with pytest.raises(AssertionError):
        validate_request_body("post", "/_emulator/keys", spec)
    assert client.get("/_emulator/keys/ws_key").status_code == 404
