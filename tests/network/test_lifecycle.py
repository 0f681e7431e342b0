"""Every path through an account's graph, through the v2 API as a client drives it (SPEC 1.7)."""

from __future__ import annotations

from typing import Any

import pytest

from linkup_emulator.network.invitations import DAY, HOUR
from linkup_emulator.pytest_plugin import Tenant

JANE = "https://www.linkedin.com/in/jane-doe-42"


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def refused(response: Any, status: int = 400, code: str = "INVALID_PARAMS") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False, body
    assert body["error"]["code"] == code, body
    assert body["metadata"]["credits_consumed"] == 0
    message: str = body["error"]["message"]
    return message


def state(linkup: Tenant, url: str) -> tuple[str, str | None]:
    data = ok(linkup.check_invitation(url))
    return data["invitation_state"], data["invitation_type"]


def test_invite_pending_withdraw_blocked_then_allowed_21_days_later(linkup: Tenant) -> None:
    linkup.freeze()
    assert state(linkup, JANE) == ("NO_INVITATION", None)
    sent = ok(linkup.invite(JANE, message="Hi Jane"))
    assert sent["public_identifier"] == "jane-doe-42"
    assert (sent["first_name"], sent["last_name"]) == ("Jane", "Doe")
    urn = sent["invitation_urn"]
    assert state(linkup, JANE) == ("PENDING", "SENT")
    top = ok(linkup.list_sent(count=1))["invitations"][0]
    assert top["entity_urn"] == urn
    assert top["recipient"]["linkedin_url"] == JANE
    assert "already pending" in refused(linkup.invite(JANE))

    withdrawn = ok(linkup.withdraw(urn))
    assert withdrawn == {"withdrawn": True, "invitation_id": urn.rsplit(":", 1)[1]}
    assert state(linkup, JANE) == ("NO_INVITATION", None)
    assert "CANT_RESEND_YET" in refused(linkup.invite(JANE))
    assert "not pending" in refused(linkup.withdraw(urn))  # twice: the second is refused

    linkup.advance(21 * DAY - 1)
    assert "CANT_RESEND_YET" in refused(linkup.invite(JANE))
    linkup.advance(1)
    again = ok(linkup.invite(JANE))
    assert again["invitation_urn"] != urn  # the second invitation between them
    assert state(linkup, JANE) == ("PENDING", "SENT")


def test_received_accepted_becomes_the_newest_connection(linkup: Tenant) -> None:
    before = ok(linkup.list_connections(count=1))
    invitation = ok(linkup.list_invitations(count=1))["invitations"][0]
    sender = invitation["sender"]
    assert state(linkup, sender["linkedin_url"]) == ("PENDING", "RECEIVED")
    assert ok(linkup.accept(invitation)) == {}
    after = ok(linkup.list_connections(count=1))
    assert after["total_available_results"] == before["total_available_results"] + 1
    newest = after["connections"][0]
    assert newest["profile_url"] == sender["linkedin_url"] + "/"
    assert newest["job_title"] == sender["headline"]
    assert state(linkup, sender["linkedin_url"]) == ("ACCEPTED", "CONNECTED")
    assert "no longer pending" in refused(linkup.accept(invitation))
    received = ok(linkup.list_invitations(count=1000))
    assert invitation["entity_urn"] not in [i["entity_urn"] for i in received["invitations"]]


def test_received_declined_is_gone(linkup: Tenant) -> None:
    listed = ok(linkup.list_invitations(count=1000))
    invitation = listed["invitations"][0]
    wrong = {**invitation, "shared_secret": "00000000"}
    assert "shared_secret" in refused(linkup.decline(wrong))
    assert ok(linkup.decline(invitation)) == {}
    after = ok(linkup.list_invitations(count=1000))
    assert after["total_available_results"] == listed["total_available_results"] - 1
    assert state(linkup, invitation["sender"]["linkedin_url"]) == ("NO_INVITATION", None)


def test_inviting_someone_who_invited_you_connects_you(linkup: Tenant) -> None:
    invitation = ok(linkup.list_invitations(count=1))["invitations"][0]
    url = invitation["sender"]["linkedin_url"]
    answer = ok(linkup.invite(url))
    assert answer["invitation_urn"] == invitation["entity_urn"]  # theirs, answered
    assert state(linkup, url) == ("ACCEPTED", "CONNECTED")
    assert ok(linkup.list_connections(count=1))["connections"][0]["profile_url"] == url + "/"
    assert "Already connected" in refused(linkup.invite(url))


@pytest.mark.linkup(acceptance_rate=1.0, pending_sent=3)
def test_fates_accept_within_seven_days(linkup: Tenant) -> None:
    linkup.freeze()
    ok(linkup.invite(JANE))
    assert ok(linkup.list_sent())["total_available_results"] == 4
    fates = [s["fate"] for s in linkup.network()["sent"]]
    assert {f["outcome"] for f in fates} == {"accept"}
    linkup.advance(HOUR - 1)
    assert state(linkup, JANE) == ("PENDING", "SENT")
    linkup.advance(7 * DAY)
    assert state(linkup, JANE) == ("ACCEPTED", "CONNECTED")
    assert ok(linkup.list_sent())["total_available_results"] == 0
    assert "Already connected" in refused(linkup.invite(JANE))


@pytest.mark.linkup(acceptance_rate=0.0, pending_sent=0, pool_size=5)
def test_unanswered_invitations_expire_after_180_days_and_never_return_to_pymk(
    linkup: Tenant,
) -> None:
    linkup.freeze()
    pymk = ok(linkup.recommendations(count=5))["recommendations"]
    first = pymk[0]["profile_url"]
    ok(linkup.invite(first))
    shown = ok(linkup.recommendations(count=5))
    assert shown["total_results"] == 4  # min(count, visible)
    assert first not in [r["profile_url"] for r in shown["recommendations"]]
    linkup.advance(180 * DAY - 1)
    assert state(linkup, first) == ("PENDING", "SENT")
    linkup.advance(1)
    assert state(linkup, first) == ("NO_INVITATION", None)
    assert ok(linkup.list_sent())["total_available_results"] == 0
    assert first not in [r["profile_url"] for r in ok(linkup.recommendations())["recommendations"]]
    ok(linkup.invite(first))  # may be invited again at once


def test_the_control_plane_answers_for_the_member(linkup: Tenant) -> None:
    sent = ok(linkup.invite(JANE))
    invitation_id = sent["invitation_urn"].rsplit(":", 1)[1]
    assert linkup.respond(invitation_id, "decline")["outcome"] == "declined"
    assert state(linkup, JANE) == ("NO_INVITATION", None)
    again = ok(linkup.invite(JANE))  # a decline does not block
    assert linkup.respond(again["invitation_urn"].rsplit(":", 1)[1])["outcome"] == "accepted"
    assert state(linkup, JANE) == ("ACCEPTED", "CONNECTED")

    arrived = linkup.arrive("https://www.linkedin.com/in/john-smith")
    listed = ok(linkup.list_invitations(count=1))["invitations"][0]
    assert listed["entity_urn"] == arrived["entity_urn"]
    assert listed["shared_secret"] == arrived["shared_secret"]
    assert (listed["sent_time"], listed["sent_time_days"]) == ("0d", 0)
    generated = linkup.arrive()
    assert generated["sender"]["profile_url"] != arrived["sender"]["profile_url"]
    conflict = linkup.client.post(
        f"/_emulator/accounts/{linkup.account_id}/invitations", json={"profile_url": JANE}
    )
    assert conflict.status_code == 409  # already connected


@pytest.mark.linkup(weekly_invitation_limit=2)
def test_the_weekly_limit_counts_withdrawn_invitations_and_rolls(linkup: Tenant) -> None:
    linkup.freeze()
    first = ok(linkup.invite("https://www.linkedin.com/in/ada-one"))
    ok(linkup.withdraw(first["invitation_urn"]))
    linkup.advance(HOUR)
    ok(linkup.invite("https://www.linkedin.com/in/bob-two"))
    limited = linkup.invite("https://www.linkedin.com/in/cy-three")
    assert "Weekly invitation limit" in refused(limited, 429, "RATE_LIMITED")
    assert limited.headers["Retry-After"] == str(int(7 * DAY - HOUR))
    linkup.advance(7 * DAY - HOUR)
    ok(linkup.invite("https://www.linkedin.com/in/cy-three"))


@pytest.mark.linkup(premium=False)
def test_a_free_accounts_note_holds_200_code_points(linkup: Tenant) -> None:
    assert "holds 200" in refused(linkup.invite(JANE, message="é" * 201))
    ok(linkup.invite(JANE, message="😀" * 200))


def test_lists_page_with_offsets_and_bill_per_fifty(linkup: Tenant) -> None:
    whole = linkup.list_connections(count=120)
    page = ok(whole)
    total = page["total_available_results"]
    assert page["total_results"] == 120
    assert whole.json()["metadata"]["credits_consumed"] == 3
    assert page["pagination"] == {
        "offset": 0,
        "count": 120,
        "next_offset": 120,
        "has_more": True,
        "results_per_page": 10,
        "pages_fetched": 2,
    }
    second = ok(linkup.list_connections(count=20, offset=100))
    assert second["connections"] == page["connections"][100:120]
    last = ok(linkup.list_connections(count=1000, offset=total - 1))
    assert last["pagination"]["has_more"] is False
    assert last["total_results"] == 1
    past = linkup.list_connections(offset=total)
    assert ok(past)["connections"] == []
    assert past.json()["metadata"]["credits_consumed"] == 0
    cached = linkup.list_connections(count=120, use_cache=True)
    assert ok(cached) == page
    assert cached.json()["metadata"]["credits_consumed"] == 0
    assert ok(linkup.list_sent(invitation_type="EVENT"))["invitation_type"] == "EVENT"
    assert ok(linkup.list_invitations(invitation_type="ORGANIZATION"))["invitations"] == []


@pytest.mark.linkup(connections=3, pool_size=0, pending_received=0, pending_sent=0)
def test_an_account_with_no_invitations(linkup: Tenant) -> None:
    assert ok(linkup.list_connections())["total_available_results"] == 3
    assert ok(linkup.list_invitations())["total_available_results"] == 0
    assert ok(linkup.list_sent())["total_available_results"] == 0
    assert ok(linkup.recommendations())["total_results"] == 0
