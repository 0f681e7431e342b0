"""The pytest plugin, used by a test file written the way a user of the emulator would write it."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import httpx
import pytest


def test_in_process(linkup):
    response = linkup.recommendations(count=5)
    assert response.status_code == 200
    assert response.json()["data"]["total_results"] == 5
    assert linkup.credits() == 999


def test_each_test_gets_a_fresh_tenant(linkup):
    assert linkup.credits() == 1000


@pytest.mark.linkup(credits=0)
def test_broke_tenant(linkup):
    assert linkup.recommendations().json()["error"]["code"] == "INSUFFICIENT_CREDITS"


@pytest.mark.linkup(country="FR", pool_size=3)
def test_small_french_network(linkup):
    assert linkup.recommendations(count=50).json()["data"]["total_results"] == 3


def test_forced_rate_limit(linkup):
    linkup.add_fault(error="RATE_LIMITED", times=1)
    assert linkup.recommendations().status_code == 429
    assert linkup.recommendations().status_code == 200
    assert [entry["status"] for entry in linkup.journal()] == [200, 429]


def test_live_server(linkup_live):
    response = httpx.post(
        f"{linkup_live.base_url}/v2/network",
        headers={"x-api-key": linkup_live.api_key},
        json={"account_id": linkup_live.account_id, "action": "recommendations"},
    )
    assert response.status_code == 200
    assert linkup_live.base_url.startswith("http://127.0.0.1:")


def test_a_webhook_reaches_the_receiver_signed(linkup, linkup_receiver):
    body = {"account_id": linkup.account_id, "url": linkup_receiver.url, "enable_signature": True}
    made = linkup.client.post("/v2/webhooks", json=body).json()["data"]
    linkup_receiver.secret = made["secret"]
    linkup.client.post(f"/_emulator/accounts/{linkup.account_id}/invitations", json={})
    [event] = linkup_receiver.wait(1)
    assert event["event"]["type"] == "invitation_received"
    assert linkup_receiver.deliveries[0].verified is True


def test_same_seed_same_people(linkup, linkup_live):
    # One seed, one account id: the same people in process and over HTTP.
    here = linkup.recommendations(count=3).json()["data"]["recommendations"]
    there = linkup_live.recommendations(count=3).json()["data"]["recommendations"]
    assert here == there
    assert len(here) == 3
"""


@pytest.mark.slow
def test_users_can_write_tests_with_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--linkup-seed", "user-seed")
    result.assert_outcomes(passed=8)


@pytest.mark.slow
def test_a_seed_option_changes_the_people(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_seed="""
def test_names(linkup):
    people = linkup.recommendations(count=3).json()["data"]["recommendations"]
    print("PEOPLE", [p["profile_url"] for p in people])
"""
    )
    runs = [
        pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--linkup-seed", seed)
        for seed in ("one", "one", "two")
    ]
    people = [
        next(line.split("PEOPLE", 1)[1] for line in run.outlines if "PEOPLE" in line)
        for run in runs
    ]
    assert people[0] == people[1]
    assert people[0] != people[2]


@pytest.mark.slow
def test_a_project_with_its_own_app_package_uses_both_fixtures(pytester: pytest.Pytester) -> None:
    """FastAPI projects often have an `app` package; the emulator's is `linkup_emulator`, so the
    project's `app`, imported first, and both fixtures live side by side in one process."""
    pytester.mkpydir("app")
    pytester.makepyfile(**{"app/main.py": "GREETING = 'the project under test'\n"})
    pytester.makeconftest("import app.main\n")  # the project's own app, imported first
    pytester.makepyfile(
        test_project="""
import httpx
from app.main import GREETING


def test_the_projects_own_app_in_process(linkup):
    assert GREETING == "the project under test"
    assert linkup.credits() == 1000
    assert linkup.recommendations(count=3).json()["data"]["total_results"] == 3


def test_the_projects_own_app_live(linkup_live):
    assert GREETING == "the project under test"
    response = httpx.get(
        f"{linkup_live.base_url}/v2/credits", headers={"x-api-key": linkup_live.api_key}
    )
    assert response.json()["data"]["credits"] == 1000
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


CLOCK_TESTS = """
import pytest


@pytest.mark.linkup(clock="2026-04-26T10:35:00Z")
def test_starts_frozen_where_the_marker_says(linkup):
    stamp = linkup.recommendations(count=1).json()["metadata"]["timestamp"]
    assert stamp == "2026-04-26T10:35:00Z"
    assert linkup.advance(90)["now"] == "2026-04-26T10:36:30.000Z"
    credits = linkup.client.get("/v2/credits").json()
    assert credits["metadata"]["timestamp"] == "2026-04-26T10:36:30Z"


def test_another_tests_time_is_its_own(linkup):
    assert linkup.clock() == {"now": "2026-01-01T00:00:00.000Z", "frozen": True, "offset_s": 0}


@pytest.mark.linkup(clock="2026-02-01T00:00:00Z")
def test_a_thawed_clock_runs(linkup_app, linkup):
    linkup_app.post("/_emulator/clock", json={"freeze": False})
    assert linkup.clock()["frozen"] is False  # the test's own choice; kept after it


@pytest.mark.linkup(rate_limit=1)
def test_advance_opens_a_new_rate_window(linkup):
    assert linkup.recommendations().status_code == 200
    assert linkup.recommendations().status_code == 429
    linkup.advance(60)
    assert linkup.recommendations().status_code == 200


@pytest.mark.linkup(clock="2026-05-01T00:00:00+02:00")
def test_live_too(linkup_live):
    stamp = linkup_live.recommendations(count=1).json()["metadata"]["timestamp"]
    assert stamp == "2026-04-30T22:00:00Z"


def test_freeze_at_an_instant_and_thaw_after(linkup):
    assert linkup.clock()["frozen"] is False  # the test before let it run
    assert linkup.freeze("2099-06-01T00:00:00Z")["now"] == "2099-06-01T00:00:00.000Z"
    assert linkup.clock()["frozen"] is True


def test_thawed_after_the_test_that_froze_it(linkup):
    assert linkup.clock()["frozen"] is False
"""


@pytest.mark.slow
def test_tests_move_the_emulated_clock(pytester: pytest.Pytester) -> None:
    """`linkup_clock` starts the session's emulators frozen early; a marker or helper puts
    each test's tenant at its own instant, and a frozen clock runs again after the test."""
    pytester.makeini("[pytest]\nlinkup_clock = 2026-01-01T00:00:00Z\n")
    pytester.makepyfile(test_clock=CLOCK_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=7)
