"""The state file's schema version (issue 17): a new file gets the current one, an older one
is migrated, a foreign, newer or broken one is refused with one line; the lock file too; the
journal's account filter is indexed; a reset leaves no other process's buffered rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from linkup_emulator.store import JournalEntry, StoreUnavailable, open_store
from linkup_emulator.store.sqlite import SCHEMA_VERSION, SqliteStore
from tests.support.stores import tenant


def version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        (found,) = db.execute("PRAGMA user_version").fetchone()
    return int(found)


def entry(api_key: str, n: int) -> JournalEntry:
    return JournalEntry(
        "2026-01-01T00:00:00Z", "GET", "/v2/credits", api_key, f"acc_{api_key}", "get_credits",
        200, None, 0, 0.1, False, f"r{n}",
    )  # fmt: skip


async def made(path: Path) -> None:
    store = SqliteStore(str(path))
    await store.create_tenant(tenant("k"))
    await store.close()


@pytest.mark.anyio
async def test_a_new_file_has_the_current_version(tmp_path: Path) -> None:
    await made(tmp_path / "s.db")
    assert version(tmp_path / "s.db") == SCHEMA_VERSION


@pytest.mark.anyio
async def test_a_file_from_before_versions_is_migrated_and_keeps_its_state(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    await made(path)
    with sqlite3.connect(path) as db:  # back to how issue 16's emulator left a file
        db.execute("DROP INDEX journal_by_account")
        db.execute("DROP INDEX faults_by_key")
        db.execute("DROP TABLE counters")
        db.execute("ALTER TABLE tenants DROP COLUMN generation")
        db.execute("PRAGMA user_version = 0")
    store = open_store(str(path))
    try:
        found = await store.tenant("k")
        assert found is not None
        assert found.balance == 1000
        assert version(path) == SCHEMA_VERSION
        assert await store.reset("k")  # a new life, from the migrated counter
        again = await store.tenant("k")
        assert again is not None
        assert again.generation > found.generation
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"], "not a linkup-emulator"),
        (["PRAGMA user_version = 99"], "newer"),
        (
            [
                "CREATE TABLE t2 AS SELECT * FROM tenants",
                "DROP TABLE tenants",
                "ALTER TABLE t2 RENAME TO tenants",
            ],
            "primary key of table tenants",
        ),
        (["ALTER TABLE usage DROP COLUMN credits"], "table usage has no column credits"),
    ],
    ids=["foreign", "newer", "no-key", "no-column"],
)
def test_a_foreign_newer_or_broken_file_is_refused_in_one_line(
    tmp_path: Path, damage: list[str], said: str
) -> None:
    path = tmp_path / "s.db"
    if "users" in damage[0]:
        with sqlite3.connect(path) as db:
            db.execute(damage[0])
    else:
        SqliteStore(str(path))  # made, then damaged below
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA foreign_keys = OFF")
            for statement in damage:
                db.execute(statement)
    with pytest.raises(StoreUnavailable) as refused:
        open_store(str(path))
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_unusable_lock_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "s.db-writer.lock").mkdir()  # what no open(O_RDWR) takes, root or not
    with pytest.raises(StoreUnavailable) as refused:
        open_store(str(tmp_path / "s.db"))
    assert "lock file" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_journals_account_filter_uses_an_index(tmp_path: Path) -> None:
    SqliteStore(str(tmp_path / "s.db"))
    with sqlite3.connect(tmp_path / "s.db") as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT id, entry FROM journal WHERE account_id = ?"
            " ORDER BY id DESC LIMIT 10",
            ("acc",),
        ).fetchall()
    assert "journal_by_account" in str(plan)


@pytest.mark.anyio
async def test_a_reset_leaves_no_other_processs_buffered_rows(tmp_path: Path) -> None:
    """Two servers of one worker each on one file (each buffers its rows): rows one buffered
    before the other reset the tenant are not written after the reset."""
    path = str(tmp_path / "s.db")
    first, second = SqliteStore(path), SqliteStore(path)
    try:
        await first.create_tenant(tenant("k"))
        life = await first.tenant("k")
        assert life is not None
        for n in range(3):
            await first.record(entry("k", n), 100, generation=life.generation)
        assert await second.reset("k")
        rows, total = await first.journal("k", None, 10)  # flushes its buffer first
        assert (rows, total) == ([], 0)
    finally:
        await first.close()
        await second.close()
