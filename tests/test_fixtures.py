"""Fixture files: the default set, validation messages, folders, and a kept state file."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from linkup_emulator import fixtures
from linkup_emulator.fixtures import FixtureError
from linkup_emulator.main import create_app
from linkup_emulator.resources import DEFAULT_FIXTURES
from linkup_emulator.settings import Settings
from tests.support.http import balance, recommend

GOOD = """
tenants:
  - api_key: k1
    credits: 5
    accounts:
      - account_id: a1
        country: FR
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_set_has_a_case_for_every_data_driven_error() -> None:
    tenants = {t.api_key: t for t in fixtures.load(DEFAULT_FIXTURES)}
    accounts = {a.account_id: (t, a) for t in tenants.values() for a in t.accounts}
    assert tenants["demo_key"].credits == 1000
    assert accounts["acc_demo"][1].status == "active"
    assert accounts["acc_inactive"][1].status == "inactive"
    assert accounts["acc_empty"][1].pool_size == 0
    assert tenants["broke_key"].credits == 0
    assert tenants["throttled_key"].rate_limit == 2
    assert tenants["unmetered_key"].credits is None
    assert accounts["acc_other"][0].api_key == "other_key"


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("tenants:\n  - credits: 5\n", "tenants[0].api_key", "Field required"),
        ("tenants:\n  - api_key: k\n    credits: lots\n", "tenants[0].credits", "whole number"),
        (
            "tenants:\n  - api_key: k\n    accounts:\n      - account_id: a\n        country: ZZ\n",
            "tenants[0].accounts[0].country",
            "country 'ZZ' is not one of",
        ),
        (
            "tenants:\n  - api_key: k\n    accounts:\n"
            "      - account_id: a\n        status: paused\n",
            "tenants[0].accounts[0].status",
            "'active' or 'inactive'",
        ),
        ("tenants:\n  - api_key: k\n    colour: red\n", "tenants[0].colour", "Extra inputs"),
        ("tenants: [\n", "", "cannot be read as YAML"),
        ("just text\n", "(top level)", "valid dictionary"),
        ("tenants:\n  - api_key: k\n  - api_key: k\n", "tenants[1].api_key", "'k' is also in"),
        (
            "tenants:\n  - api_key: k\n    accounts: [{account_id: a}, {account_id: a}]\n",
            "tenants[0].accounts[1].account_id",
            "'a' is also in",
        ),
    ],
    ids=[
        "missing-key",
        "bad-type",
        "country",
        "status",
        "unknown-field",
        "yaml",
        "not-a-mapping",
        "dupe-key",
        "dupe-account",
    ],
)
def test_bad_files_name_file_field_and_reason(
    tmp_path: Path, text: str, where: str, reason: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(FixtureError) as caught:
        fixtures.load(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert where in message
    assert reason in message
    assert "Value error" not in message  # pydantic's prefix, not ours


def test_a_folder_loads_every_yaml_file_and_rejects_cross_file_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yml", GOOD.replace("k1", "k2").replace("a1", "a2"))
    write(tmp_path, "notes.txt", "ignored")
    assert [t.api_key for t in fixtures.load(tmp_path)] == ["k1", "k2"]
    write(tmp_path, "c.yaml", GOOD.replace("k1", "k3"))
    with pytest.raises(FixtureError, match=r"accounts\[0\]\.account_id: 'a1' is also in"):
        fixtures.load(tmp_path)


@pytest.mark.parametrize("state", [":memory:", "file"])
def test_display_credits_and_an_offset_created_at_from_a_fixture(
    tmp_path: Path, state: str
) -> None:
    text = """
tenants:
  - api_key: seat_key
    credits: null
    display_credits: 5000
    accounts:
      - account_id: acc_seat
        created_at: "2026-03-01T09:30:00.250+01:00"
"""
    path = write(tmp_path, "seat.yaml", text)
    where = state if state == ":memory:" else str(tmp_path / "state.sqlite3")
    settings = Settings(seed="t", fixtures=path, state=where, log_level="warning")
    for _ in range(2):  # a kept state file reads them back the same after a restart
        with TestClient(create_app(settings)) as client:
            assert balance(client, "seat_key") == 5000
            assert recommend(client, "acc_seat", 50, key="seat_key").status_code == 200
            assert balance(client, "seat_key") == 5000
            account = client.get("/v2/accounts/acc_seat", headers={"x-api-key": "seat_key"})
            assert account.json()["data"]["created_at"] == "2026-03-01T08:30:00Z"


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        (
            "tenants:\n  - api_key: k\n    display_credits: -3\n",
            "tenants[0].display_credits",
            "greater than or equal to 0",
        ),
        (
            "tenants:\n  - api_key: k\n    accounts:\n"
            "      - account_id: a\n        created_at: '2026-01-01T00:00:00'\n",
            "tenants[0].accounts[0].created_at",
            "is not an RFC 3339 date-time",
        ),
    ],
    ids=["display-negative", "created-naive"],
)
def test_bad_new_fields_name_file_field_and_reason(
    tmp_path: Path, text: str, where: str, reason: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(FixtureError) as caught:
        fixtures.load(path)
    assert where in str(caught.value)
    assert reason in str(caught.value)
    assert "Value error" not in str(caught.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no such file or folder"):
        fixtures.load(tmp_path / "nope.yaml")


def test_a_bad_file_stops_the_app_from_being_built(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "tenants:\n  - api_key: k\n    credits: -1\n")
    with pytest.raises(FixtureError, match=r"tenants\[0\]\.credits"):
        create_app(Settings(fixtures=path))


def test_a_state_file_keeps_balances_across_restarts(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    settings = Settings(seed="t", state=state, log_level="warning")
    with TestClient(create_app(settings)) as client:
        recommend(client, count=100)
        client.post("/_emulator/keys", json={"api_key": "runtime_key", "credits": 7})
        client.patch("/_emulator/accounts/acc_demo_fr", json={"status": "inactive"})
    with TestClient(create_app(settings)) as client:
        assert balance(client) == 990
        assert balance(client, "runtime_key") == 7
        assert recommend(client, "acc_demo_fr").status_code == 403
        assert client.get("/_emulator/health").json()["store"] == "file"
        client.post("/_emulator/reset")
        assert balance(client) == 1000
        assert client.get("/_emulator/keys/runtime_key").status_code == 404


def test_new_fixture_tenants_join_an_existing_state_file(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    first = write(tmp_path, "one.yaml", GOOD)
    with TestClient(
        create_app(Settings(state=state, fixtures=first, log_level="warning"))
    ) as client:
        recommend(client, "a1", 10, key="k1")
    write(tmp_path, "one.yaml", GOOD.replace("credits: 5", "credits: 50"))
    write(tmp_path, "two.yaml", GOOD.replace("k1", "k2").replace("a1", "a2"))
    with TestClient(
        create_app(Settings(state=state, fixtures=tmp_path, log_level="warning"))
    ) as client:
        assert balance(client, "k1") == 4  # kept, not reloaded
        assert balance(client, "k2") == 5  # new tenant seeded
        client.post("/_emulator/reset", params={"api_key": "k1"})
        assert balance(client, "k1") == 50  # a reset goes back to today's fixture


def test_a_kept_state_file_follows_fixture_changes(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    first = write(tmp_path, "one.yaml", GOOD + "  - api_key: gone\n")
    with TestClient(create_app(Settings(state=state, fixtures=first, log_level="warning"))) as c:
        recommend(c, "a1", 10, key="k1")
    more = GOOD + "      - account_id: a_new\n        country: DE\n"
    second = write(tmp_path, "one.yaml", more)
    with TestClient(create_app(Settings(state=state, fixtures=second, log_level="warning"))) as c:
        assert balance(c, "k1") == 4  # kept
        assert recommend(c, "a_new", 1, key="k1").status_code == 200  # a new account joins
        assert balance(c, "gone") == 1000  # dropped from the fixtures: kept until a reset
        c.post("/_emulator/reset")
        assert c.get("/v2/credits", headers={"x-api-key": "gone"}).status_code == 403
        assert balance(c, "k1") == 5


def test_a_fixture_account_owned_by_another_key_in_the_state_stops_the_start(
    tmp_path: Path,
) -> None:
    state = str(tmp_path / "state.sqlite3")
    first = write(tmp_path, "one.yaml", GOOD)
    with TestClient(create_app(Settings(state=state, fixtures=first, log_level="warning"))) as c:
        c.post("/_emulator/keys", json={"api_key": "runtime", "accounts": [{"account_id": "a2"}]})
    clash = write(tmp_path, "two.yaml", GOOD.replace("k1", "k2").replace("a1", "a2"))
    with pytest.raises(FixtureError, match="account_id 'a2' of fixture tenant 'k2'"):
        create_app(Settings(state=state, fixtures=clash, log_level="warning"))


def test_an_empty_folder_starts_but_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No tenant at all is allowed (a CI job may create its own), yet looks like a wrong path."""
    from linkup_emulator.main import create_app
    from linkup_emulator.observability.logging import log
    from linkup_emulator.settings import Settings

    log.addHandler(caplog.handler)  # the emulator's logger doesn't propagate to the root
    try:
        create_app(Settings(fixtures=tmp_path, log_level="warning"))
    finally:
        log.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records] == [
        f"no tenants in {tmp_path}: every key is refused (403) until one is created"
        " with POST /_emulator/keys"
    ]
