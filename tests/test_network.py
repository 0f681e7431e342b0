"""POST /v2/network recommendations on the success path, and the free GET routes."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from linkup_emulator import __version__
from linkup_emulator.generator import SUPPORTED_COUNTRIES
from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from tests.support.http import TIMESTAMP, balance, network, recommend
from tests.support.openapi import validate_response

FIELDS = ["name", "subtitle", "profile_url", "insight", "entity_urn", "profile_picture"]


def test_seed_request_answers_the_seed_shape(client: TestClient) -> None:
    response = recommend(client, count=1)
    body = response.json()
    assert response.status_code == 200
    validate_response("post", "/v2/network", 200, body)
    assert body["success"] is True
    assert list(body) == ["success", "data", "metadata"]
    assert list(body["data"]) == ["recommendations", "total_results", "pagination"]
    assert [list(r) for r in body["data"]["recommendations"]] == [FIELDS]
    assert body["data"]["total_results"] == 1
    assert body["data"]["pagination"] == {"results_per_page": 10, "pages_fetched": 1}
    assert body["metadata"] == {
        "action": "recommendations",
        "account_id": "acc_demo",
        "credits_consumed": 1,
        "timestamp": body["metadata"]["timestamp"],
    }
    assert TIMESTAMP.match(body["metadata"]["timestamp"])
    assert response.headers["x-emulator-version"] == __version__
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("account", "count", "returned", "credits", "pages"),
    [
        ("acc_demo", None, 10, 1, 1),  # default count
        ("acc_demo", 1, 1, 1, 1),
        ("acc_demo", 10, 10, 1, 1),
        ("acc_demo", 11, 11, 2, 2),
        ("acc_demo", 99, 99, 10, 10),
        ("acc_demo", 1000, 1000, 100, 100),
        ("acc_small", 50, 25, 3, 3),  # a pool smaller than count returns the pool
        ("acc_small", 25, 25, 3, 3),
        ("acc_empty", 10, 0, 0, 1),  # nothing returned costs nothing
    ],
)
def test_count_results_credits_and_pages(
    client: TestClient, account: str, count: int | None, returned: int, credits: int, pages: int
) -> None:
    body = recommend(client, account, count).json()
    validate_response("post", "/v2/network", 200, body)
    assert len(body["data"]["recommendations"]) == returned
    assert body["data"]["total_results"] == returned
    assert body["data"]["pagination"]["pages_fetched"] == pages
    assert body["metadata"]["credits_consumed"] == credits
    assert balance(client) == 1000 - credits


def test_params_may_be_absent_or_empty(client: TestClient) -> None:
    absent = network(client, {"account_id": "acc_demo", "action": "recommendations"}).json()
    empty = recommend(client, count=None).json()
    assert absent["data"] == empty["data"]
    assert absent["data"]["total_results"] == 10


def test_extra_top_level_keys_are_ignored(client: TestClient) -> None:
    body = {"account_id": "acc_demo", "action": "recommendations", "params": {}, "trace": "x"}
    assert network(client, body).status_code == 200


def test_same_seed_same_bytes_across_apps_and_orders(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        big = recommend(first, count=50).json()["data"]["recommendations"]
        small = recommend(second, count=5).json()["data"]["recommendations"]
        again = recommend(second, count=50).json()["data"]["recommendations"]
    assert small == big[:5]
    assert again == big


def test_another_seed_or_account_gives_other_people(settings: Settings) -> None:
    other = settings.model_copy(update={"seed": "another-seed"})
    with TestClient(create_app(settings)) as first, TestClient(create_app(other)) as second:
        mine = recommend(first, count=20).json()["data"]["recommendations"]
        theirs = recommend(second, count=20).json()["data"]["recommendations"]
        french = recommend(first, "acc_demo_fr", 20).json()["data"]["recommendations"]
    names = {r["profile_url"] for r in mine}
    assert names.isdisjoint(r["profile_url"] for r in theirs)
    assert names.isdisjoint(r["profile_url"] for r in french)


def test_unmetered_key_never_runs_out_but_records_use(client: TestClient) -> None:
    for _ in range(3):
        response = recommend(client, "acc_unmetered", 1000, key="unmetered_key")
        assert response.json()["metadata"]["credits_consumed"] == 100
    assert balance(client, "unmetered_key") == 1_000_000  # shown, never spent
    report = client.get("/_emulator/keys/unmetered_key").json()
    assert report["credits"] == {"balance": None, "consumed": 300}
    assert report["accounts"][0]["calls"] == 3


def test_credits_route(client: TestClient) -> None:
    response = client.get("/v2/credits", headers={"x-api-key": "demo_key"})
    body = response.json()
    validate_response("get", "/v2/credits", 200, body)
    assert body["data"] == {"credits": 1000}
    assert body["metadata"]["action"] == "get_credits"
    assert body["metadata"]["credits_consumed"] == 0
    assert "account_id" not in body["metadata"]


def test_list_accounts_pages_in_fixture_order(client: TestClient) -> None:
    headers = {"x-api-key": "demo_key"}
    body = client.get("/v2/accounts", headers=headers).json()
    validate_response("get", "/v2/accounts", 200, body)
    ids = [item["account_id"] for item in body["data"]["items"]]
    assert ids[:2] == ["acc_demo", "acc_demo_fr"]
    assert body["data"]["total"] == len(ids) == 7
    assert (body["data"]["limit"], body["data"]["offset"]) == (50, 0)
    assert body["metadata"]["action"] == "list_accounts"
    page = client.get("/v2/accounts?limit=2&offset=1", headers=headers).json()["data"]
    assert [i["account_id"] for i in page["items"]] == ids[1:3]
    assert page["total"] == 7
    inactive = next(i for i in body["data"]["items"] if i["account_id"] == "acc_inactive")
    assert (inactive["is_active"], inactive["status"]) == (False, "inactive")


def test_get_account(client: TestClient) -> None:
    response = client.get("/v2/accounts/acc_demo", headers={"x-api-key": "demo_key"})
    body = response.json()
    validate_response("get", "/v2/accounts/{account_id}", 200, body)
    assert body["data"]["account_id"] == "acc_demo"
    assert body["data"]["account_name"] == "Demo Account"
    assert body["data"]["platform"] == "linkedin"
    assert body["metadata"]["account_id"] == "acc_demo"
    assert body["metadata"]["action"] == "get_account"


def test_request_id_is_echoed_when_sane(client: TestClient) -> None:
    sent = {"x-api-key": "demo_key", "x-request-id": "trace-123"}
    assert client.get("/v2/credits", headers=sent).headers["x-request-id"] == "trace-123"
    sent["x-request-id"] = "bad id\twith spaces"
    assert client.get("/v2/credits", headers=sent).headers["x-request-id"] != sent["x-request-id"]
    # Repeated, the first one counts, as for x-api-key.
    twice = [("x-api-key", "demo_key"), ("x-request-id", "first"), ("x-request-id", "second")]
    assert client.get("/v2/credits", headers=twice).headers["x-request-id"] == "first"


@pytest.mark.parametrize("country", sorted(SUPPORTED_COUNTRIES))
def test_every_locale_answers_the_contract(client: TestClient, country: str) -> None:
    tenant = {
        "api_key": f"key_{country}",
        "credits": None,
        "accounts": [{"account_id": f"acc_{country}", "country": country, "pool_size": 300}],
    }
    assert client.post("/_emulator/keys", json=tenant).status_code == 201
    body = recommend(client, f"acc_{country}", 300, key=f"key_{country}").json()
    validate_response("post", "/v2/network", 200, body)
    people = body["data"]["recommendations"]
    assert len({p["profile_url"] for p in people}) == len({p["entity_urn"] for p in people}) == 300


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ({"credits": None}, 1_000_000),
        ({"credits": None, "display_credits": 0}, 0),
        ({"credits": None, "display_credits": 4200}, 4200),
        ({"credits": 7, "display_credits": 4200}, 7),  # metered: the real balance wins
    ],
    ids=["unmetered-default", "display-zero", "display-set", "metered-ignores-display"],
)
def test_credits_is_always_an_integer(
    client: TestClient, spec: dict[str, object], shown: int
) -> None:
    """SPEC 1.3: clients check the balance is a number; an unmetered key's never goes down."""
    tenant = {"api_key": "k_credits", **spec, "accounts": [{"account_id": "acc_credits"}]}
    assert client.post("/_emulator/keys", json=tenant).status_code == 201
    before = client.get("/v2/credits", headers={"x-api-key": "k_credits"}).json()
    validate_response("get", "/v2/credits", 200, before)
    assert before["data"] == {"credits": shown}
    assert recommend(client, "acc_credits", 10, key="k_credits").status_code == 200
    spent = 1 if spec["credits"] is not None else 0
    assert balance(client, "k_credits") == shown - spent
    stored = client.get("/_emulator/keys/k_credits").json()["credits"]
    assert stored == {"balance": None if spec["credits"] is None else shown - 1, "consumed": 1}


def test_display_credits_shows_again_once_patched_unmetered(client: TestClient) -> None:
    tenant = {"api_key": "k_flip", "credits": 5, "display_credits": 99}
    assert client.post("/_emulator/keys", json=tenant).status_code == 201
    assert balance(client, "k_flip") == 5
    assert client.patch("/_emulator/keys/k_flip", json={"credits": None}).status_code == 200
    assert balance(client, "k_flip") == 99
