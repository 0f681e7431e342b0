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
    result.assert_outcomes(passed=7)


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
