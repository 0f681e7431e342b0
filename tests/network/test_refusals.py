"""Every refusal and every malformed param of the network actions: the exact status and code,
nothing charged, nothing changed (SPEC 1.4 rows 7 and 7b)."""

from __future__ import annotations

from typing import Any

import pytest

from linkup_emulator.pytest_plugin import Tenant

JANE = "https://www.linkedin.com/in/jane-doe-42"
URN = "urn:li:invitation:7453486530700017665"

MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("invite", {}, "Missing required parameter: profile_url or linkedin_url or identifier"),
    ("invite", {"profile_url": None}, "params.profile_url must be a string"),
    ("invite", {"profile_url": 42}, "params.profile_url must be a string"),
    ("invite", {"profile_url": "https://example.com/in/jane"}, "LinkedIn profile URL"),
    ("invite", {"profile_url": "https://www.linkedin.com/company/acme"}, "LinkedIn profile URL"),
    ("invite", {"profile_url": "https://www.linkedin.com/in/a"}, "does not name a profile"),
    ("invite", {"linkedin_url": "jane-doe-42"}, "LinkedIn profile URL"),
    ("invite", {"identifier": "jane doe"}, "does not name a profile"),
    ("invite", {"identifier": ["jane-doe-42"]}, "params.identifier must be a string"),
    ("invite", {"profile_url": JANE, "identifier": "a b"}, "does not name a profile"),
    ("invite", {"profile_url": JANE, "message": 7}, "params.message must be a string"),
    ("invite", {"profile_url": JANE, "message": "x" * 301}, "holds 300"),
    ("invite", {"profile_url": JANE, "note": "hi"}, "params.note is not a parameter of invite"),
    ("accept", {}, "Missing required parameter: entity_urn"),
    ("accept", {"entity_urn": URN}, "Missing required parameter: shared_secret"),
    ("accept", {"entity_urn": "7453486530700017665", "shared_secret": "x"}, "invitation URN"),
    ("accept", {"entity_urn": URN, "shared_secret": 5}, "params.shared_secret must be a string"),
    ("accept", {"entity_urn": URN, "shared_secret": "x"}, "no longer pending"),
    ("decline", {"entity_urn": "urn:li:invitation:x", "shared_secret": "x"}, "not an invitation"),
    ("withdraw", {}, "Missing required parameter: invitation_id"),
    ("withdraw", {"invitation_id": 7453486530700017665}, "must be a JSON string"),
    ("withdraw", {"invitation_id": "abc"}, "not an invitation id"),
    ("withdraw", {"invitation_id": URN}, "not pending"),
    ("check_invitation", {}, "Missing required parameter: profile_url or linkedin_url"),
    ("check_invitation", {"identifier": "jane-doe-42"}, "not a parameter of check_invitation"),
    ("check_invitation", {"profile_url": "http://linkedin.com/in/"}, "LinkedIn profile URL"),
    ("list_connections", {"count": 0}, "params.count must be an integer from 1 to 1000"),
    ("list_connections", {"count": 1001}, "params.count must be an integer from 1 to 1000"),
    ("list_connections", {"count": 10.0}, "params.count must be an integer"),
    ("list_connections", {"count": "10"}, "params.count must be an integer"),
    ("list_connections", {"count": True}, "params.count must be an integer"),
    ("list_connections", {"offset": -1}, "params.offset must be an integer from 0"),
    ("list_connections", {"offset": None}, "params.offset must be an integer from 0"),
    ("list_connections", {"use_cache": "true"}, "params.use_cache must be true or false"),
    ("list_connections", {"total_results": 5}, "not a parameter of list_connections"),
    ("list_invitations", {"invitation_type": "connection"}, "invitation_type must be one of"),
    ("list_invitations", {"invitation_type": None}, "invitation_type must be one of"),
    ("list_sent", {"invitation_type": "PEOPLE"}, "invitation_type must be one of"),
    ("list_sent", {"offset": 10**10}, "params.offset must be an integer"),
]


def snapshot(linkup: Tenant) -> tuple[Any, ...]:
    view = linkup.network()
    usage = linkup.client.get(f"/_emulator/keys/{linkup.api_key}").json()
    return view["counts"], view["sent"], view["received"], linkup.credits(), usage["accounts"]


@pytest.mark.parametrize(("action", "params", "message"), MALFORMED)
def test_malformed_params(
    linkup: Tenant, action: str, params: dict[str, Any], message: str
) -> None:
    before = snapshot(linkup)
    body = {"account_id": linkup.account_id, "action": action, "params": params}
    response = linkup.client.post("/v2/network", json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"]["code"] == "INVALID_PARAMS"
    assert message in answer["error"]["message"], answer
    assert answer["metadata"] == {
        "action": action,
        "credits_consumed": 0,
        "timestamp": answer["metadata"]["timestamp"],
    }
    assert snapshot(linkup) == before


def test_the_graphs_refusals_change_nothing(linkup: Tenant) -> None:
    linkup.freeze()
    sent = linkup.invite(JANE).json()["data"]
    connection = linkup.list_connections(count=1).json()["data"]["connections"][0]["profile_url"]
    received = linkup.list_invitations(count=1).json()["data"]["invitations"][0]
    other = linkup.invite("https://www.linkedin.com/in/john-roe").json()["data"]
    linkup.withdraw(other["invitation_urn"])
    before = snapshot(linkup)
    refusals = [
        (linkup.invite(connection), "Already connected"),
        (linkup.invite(JANE), "CANT_RESEND_YET"),
        (linkup.invite("https://www.linkedin.com/in/john-roe"), "CANT_RESEND_YET"),
        (linkup.accept({**received, "shared_secret": "nope"}), "Invalid shared_secret"),
        # an invitation the account sent is not one it can accept
        (linkup.accept({"entity_urn": sent["invitation_urn"], "shared_secret": "x"}), "pending"),
        (linkup.withdraw(received["entity_urn"]), "not pending"),
        (linkup.withdraw(other["invitation_urn"]), "not pending"),
    ]
    for response, message in refusals:
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]["message"]
        assert response.json()["metadata"]["credits_consumed"] == 0
    assert snapshot(linkup) == before


@pytest.mark.linkup(credits=0)
def test_unaffordable_calls_change_nothing(linkup: Tenant) -> None:
    before = snapshot(linkup)
    invitation = linkup.list_invitations().json()
    assert invitation["error"]["code"] == "INSUFFICIENT_CREDITS"
    refused = linkup.invite(JANE)
    assert refused.status_code == 402
    assert snapshot(linkup) == before
    free = linkup.list_connections(use_cache=True)
    assert free.status_code == 200  # costs 0: affordable at 0


def test_another_accounts_invitation_is_not_yours(linkup: Tenant) -> None:
    demo = {"x-api-key": "demo_key"}
    body = {"account_id": "acc_demo", "action": "list_invitations", "params": {"count": 1}}
    theirs = linkup.client.post("/v2/network", json=body, headers=demo).json()["data"]
    invitation = theirs["invitations"][0]
    response = linkup.accept(invitation)
    assert response.status_code == 400
    assert "no longer pending" in response.json()["error"]["message"]
