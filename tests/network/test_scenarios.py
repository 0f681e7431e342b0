"""The default fixtures' ready-made network cases answer as the README's scenario table says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.network.invitations import DAY
from linkup_emulator.settings import Settings

DEMO = {"x-api-key": "network_key"}
JANE = "https://www.linkedin.com/in/jane-doe-42"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = Settings(seed="scenarios", log_level="warning", clock="2026-04-26T10:35:00Z")
    with TestClient(create_app(settings)) as client:
        yield client


def call(client: TestClient, account: str, action: str, **params: Any) -> Any:
    body = {"account_id": account, "action": action, "params": params}
    return client.post("/v2/network", json=body, headers=DEMO)


def test_acc_demo_starts_with_pending_invitations_both_ways(client: TestClient) -> None:
    demo = {"x-api-key": "demo_key"}
    asked = {"account_id": "acc_demo", "params": {}}
    received = client.post(
        "/v2/network", json={**asked, "action": "list_invitations"}, headers=demo
    )
    sent = client.post("/v2/network", json={**asked, "action": "list_sent"}, headers=demo)
    received, sent = received.json()["data"], sent.json()["data"]
    assert (received["total_available_results"], sent["total_available_results"]) == (12, 5)


def test_acc_invite_limited_is_at_its_weekly_limit(client: TestClient) -> None:
    response = call(client, "acc_invite_limited", "invite", profile_url=JANE)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert response.headers["Retry-After"] == str(int(7 * DAY))


def test_acc_free_holds_a_200_character_note(client: TestClient) -> None:
    long = call(client, "acc_free", "invite", profile_url=JANE, message="x" * 201)
    assert long.status_code == 400
    assert (
        call(client, "acc_free", "invite", profile_url=JANE, message="x" * 200).status_code == 200
    )


def test_acc_quiet_has_no_invitations_and_ten_connections(client: TestClient) -> None:
    assert call(client, "acc_quiet", "list_invitations").json()["data"]["invitations"] == []
    assert call(client, "acc_quiet", "list_sent").json()["data"]["invitations"] == []
    connections = call(client, "acc_quiet", "list_connections", count=100).json()["data"]
    assert connections["total_available_results"] == 10


def test_acc_popular_has_every_invitation_accepted_within_a_week(client: TestClient) -> None:
    assert call(client, "acc_popular", "invite", profile_url=JANE).status_code == 200
    assert call(client, "acc_popular", "list_sent").json()["data"]["total_available_results"] == 6
    client.post("/_emulator/clock", json={"advance_s": 7 * DAY})
    assert call(client, "acc_popular", "list_sent").json()["data"]["total_available_results"] == 0
    state = call(client, "acc_popular", "check_invitation", profile_url=JANE).json()["data"]
    assert state["invitation_state"] == "ACCEPTED"
    client.post("/_emulator/reset")
