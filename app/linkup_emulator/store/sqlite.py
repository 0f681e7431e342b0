"""The SQLite file store: state that survives restarts and is shared by worker processes.

Its calls are local and short (tens of microseconds), so they run on the event loop: a hop to
a thread costs more than the work (measured with the v2 fast path, bench/). Writers of every
process queue on a flock beside the file, then take SQLite's write lock at once.
"""

from __future__ import annotations

import fcntl
import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple

import orjson

from linkup_emulator.clock import ClockState
from linkup_emulator.models import DEFAULT_NETWORK, AccountSpec, FaultSpec, Network, TenantSpec
from linkup_emulator.observability.logging import STORE_ERRORS
from linkup_emulator.store.base import (
    Account,
    Charge,
    Debit,
    FaultHit,
    FaultRule,
    GraphEntry,
    JournalEntry,
    Lookup,
    RateHit,
    StoreConflict,
    StoreFailure,
    Tenant,
    Usage,
    born_at,
    fault_id,
    fault_number,
    new_account,
    new_epoch,
)
from linkup_emulator.store.sqlite_hooks import SqliteHooks

# A tenant's display_credits lives in its spec (no column, so state files need no migration);
# it is read only while the tenant is unmetered, the one time it is shown.
_DISPLAY = "CASE WHEN t.balance IS NULL THEN json_extract(t.spec, '$.display_credits') END"

# An account as the store returns it: its row, its network settings and epoch, and the birth of
# the tenant that owns it (`o`).
_ACCOUNT_COLUMNS = (
    "a.account_id, a.api_key, a.account_name, a.status, a.country, a.pool_size, a.created_at,"
    " a.updated_at, a.network, o.born, a.epoch,"
    " (SELECT COALESCE(MAX(g.seq), 0) FROM graph g WHERE g.account_id = a.account_id)"
)


def _account(row: Sequence[object]) -> Account:
    network = Network.load(orjson.loads(row[8])) if row[8] else DEFAULT_NETWORK  # type: ignore[arg-type]
    return Account(*row[:8], network, row[9], row[10], row[11])  # type: ignore[arg-type, call-arg]


# The schema as this version writes it. `PRAGMA user_version` holds its number; a file of an
# older one is brought up to date at open by MIGRATIONS, one step a version, and a new column
# is one more step there (and here). Version 0 is a file from before the number was kept.
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    api_key TEXT PRIMARY KEY,
    balance INTEGER,
    consumed INTEGER NOT NULL DEFAULT 0,
    rate_limit INTEGER,
    spec TEXT NOT NULL,
    runtime INTEGER NOT NULL,
    clock_offset REAL NOT NULL DEFAULT 0,
    born REAL NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('generation', 0);
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id IN (0, 1)),  -- 0: what a full reset restores, 1: now
    frozen_at REAL,
    offset_s REAL NOT NULL,
    seeded INTEGER NOT NULL
);
INSERT OR IGNORE INTO clock (id, frozen_at, offset_s, seeded)
    VALUES (0, NULL, 0, 0), (1, NULL, 0, 0);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL REFERENCES tenants(api_key) ON DELETE CASCADE,
    account_name TEXT NOT NULL,
    status TEXT NOT NULL,
    country TEXT NOT NULL,
    pool_size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    network TEXT,
    epoch TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS accounts_by_key ON accounts(api_key, position);
CREATE TABLE IF NOT EXISTS usage (
    api_key TEXT NOT NULL,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL,
    calls INTEGER NOT NULL,
    credits INTEGER NOT NULL,
    PRIMARY KEY (api_key, account_id, action)
);
CREATE TABLE IF NOT EXISTS rate_windows (
    api_key TEXT PRIMARY KEY,
    window_start REAL NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    api_key TEXT,
    account_id TEXT,
    entry BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_key ON journal(api_key, id);
CREATE INDEX IF NOT EXISTS journal_by_account ON journal(account_id, id);
CREATE TABLE IF NOT EXISTS graph (
    account_id TEXT NOT NULL,
    member TEXT NOT NULL,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (account_id, member)
);
CREATE INDEX IF NOT EXISTS graph_by_seq ON graph(account_id, seq);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    api_key TEXT,
    account_id TEXT,
    action TEXT,
    matched INTEGER NOT NULL DEFAULT 0,
    remaining INTEGER
);
CREATE INDEX IF NOT EXISTS faults_by_key ON faults(api_key);
"""


def _to_1(db: sqlite3.Connection) -> None:
    """A file from before the schema had a number, brought to the last unnumbered schema: the
    clock's column, and the network's (tenants' birth, accounts' settings and epoch), if it
    predates them."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(tenants)")}
    if columns and "clock_offset" not in columns:  # a file from before the clock
        db.execute("ALTER TABLE tenants ADD COLUMN clock_offset REAL NOT NULL DEFAULT 0")
    if columns and "born" not in columns:  # a file from before the network
        db.execute("ALTER TABLE tenants ADD COLUMN born REAL NOT NULL DEFAULT 0")
        db.execute("ALTER TABLE accounts ADD COLUMN network TEXT")
        db.execute("ALTER TABLE accounts ADD COLUMN epoch TEXT NOT NULL DEFAULT ''")


def _to_2(db: sqlite3.Connection) -> None:
    """Tenant generations (and their counter, made by SCHEMA); the indexes come with SCHEMA."""
    db.execute("ALTER TABLE tenants ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")


# MIGRATIONS[n] takes a file of version n - 1 to version n.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_1, 2: _to_2}
OWN_TABLES = frozenset({"tenants", "clock", "accounts", "usage", "journal", "graph", "faults"})


class StateRefused(Exception):
    """A state file this version can't use: another application's, a newer version's, or
    one missing a table's column or key. The message is the one line a start prints."""


def _shape(db: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Every table's columns and their place in its primary key (0: not in it)."""
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {t: {r[1]: r[5] for r in db.execute(f"PRAGMA table_info('{t}')")} for t in tables}


def _expected_shape() -> dict[str, dict[str, int]]:
    db = sqlite3.connect(":memory:")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        return _shape(db)
    finally:
        db.close()


def _upgrade(db: sqlite3.Connection, path: str) -> None:
    """Create, migrate or refuse the file (in the caller's transaction), then check that
    every table has the columns and primary keys this version reads."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    tables = set(_shape(db))
    if version > SCHEMA_VERSION:
        raise StateRefused(
            f"the state file {path} has schema version {version}, written by a newer"
            f" linkup-emulator (this one reads up to {SCHEMA_VERSION})"
        )
    if tables and not tables & OWN_TABLES:
        shown = ", ".join(sorted(tables)[:5])
        raise StateRefused(
            f"{path} is not a linkup-emulator state file (it holds the tables {shown});"
            " give --state a new path or the emulator's own file"
        )
    if tables:
        for step in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](db)
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    found = _shape(db)
    for table, columns in _expected_shape().items():
        have = found.get(table, {})
        for column, key in columns.items():
            if column not in have:
                raise StateRefused(
                    f"the state file {path} is broken: table {table} has no column {column}"
                )
            if key and not have[column]:
                raise StateRefused(
                    f"the state file {path} is broken: {column} is not part of the primary"
                    f" key of table {table}"
                )
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


USAGE_UPSERT = (
    "INSERT INTO usage (api_key, account_id, action, calls, credits) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (api_key, account_id, action)"
    " DO UPDATE SET calls = calls + excluded.calls, credits = credits + excluded.credits"
)
FLUSH_ROWS = 256  # journal rows buffered before a write
FLUSH_S = 0.1  # and the longest a row waits
MIN_FREE = 64 * 1024  # free bytes under which health says the disk is full


class SqliteStore(SqliteHooks):
    """One connection per process, guarded by a lock; cross-process safety comes from SQLite."""

    name = "file"

    def __init__(self, path: str, *, exclusive: bool = True) -> None:
        """`exclusive`: no other process uses the file, so journal rows may be written in
        batches (workers sharing it must each see every row at once)."""
        self.path = path
        self._buffered = exclusive
        self._lock = threading.Lock()
        self._pending: list[tuple[str | None, str | None, bytes, int | None]] = []
        self._identity: tuple[int, int] | None = None  # set once the file is open
        self._bound = 1
        self._timer: threading.Timer | None = None
        self._problem: str | None = None  # the last write's failure, until one succeeds
        # Writers from other processes queue on this lock, woken the moment it is free;
        # SQLite's own busy wait polls in sleeps of a millisecond and more (a p99 cliff).
        lock = f"{path}-writer.lock"
        try:
            self._flock = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as error:
            raise StateRefused(
                f"cannot open the state's lock file {lock}: {error.strerror or error};"
                " the state's folder must be writable"
            ) from None
        weakref.finalize(self, os.close, self._flock)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            # WAL lets workers read while one writes; NORMAL sync survives a killed process.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._tx() as db:
                _upgrade(db, path)
                self._hooks_schema(db)
        except BaseException:
            self._db.close()
            raise
        # The file as opened: one deleted or replaced while the server runs is detected,
        # rather than written into the void (the open descriptor keeps an unlinked file).
        self._identity = _identity(path)
        self._folder = os.path.dirname(os.path.abspath(path))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._write() as db:
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction (the write lock up front: no upgrade deadlocks), behind the
        cross-process writer lock of a file store. The caller holds self._lock."""
        if self._identity is not None and _identity(self.path) != self._identity:
            self._problem = (
                f"the state file {self.path} was deleted or replaced while the server ran;"
                " writes are refused until it is restarted"
            )
            raise StoreFailure(self._problem)
        fcntl.flock(self._flock, fcntl.LOCK_EX)
        try:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                self._problem = f"the state file {self.path} can't be written: {error}"
                raise StoreFailure(self._problem) from error
            self._problem = None
        finally:
            fcntl.flock(self._flock, fcntl.LOCK_UN)

    def _one(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._db.execute(sql, args).fetchone()
            return row

    # -- tenants -----------------------------------------------------------------------------

    def _insert_tenant(
        self, db: sqlite3.Connection, spec: TenantSpec, runtime: bool, born: float
    ) -> None:
        (generation,) = db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'generation' RETURNING value"
        ).fetchone()
        db.execute(
            "INSERT INTO tenants (api_key, balance, consumed, rate_limit, spec, runtime, born,"
            " generation) VALUES (?, ?, 0, ?, ?, ?, ?, ?)",
            (
                spec.api_key,
                spec.credits,
                spec.rate_limit,
                spec.model_dump_json(),
                int(runtime),
                born,
                generation,
            ),
        )
        for position, account in enumerate(spec.accounts):
            self._insert_account(db, spec.api_key, position, account)

    def _insert_account(
        self,
        db: sqlite3.Connection,
        api_key: str,
        position: int,
        account: AccountSpec,
        *,
        missing_only: bool = False,
    ) -> None:
        row = new_account(api_key, account, 0.0, new_epoch())
        verb = "INSERT OR IGNORE" if missing_only else "INSERT"
        db.execute(
            f"{verb} INTO accounts (account_id, api_key, account_name, status, country,"
            " pool_size, created_at, updated_at, position, network, epoch)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *astuple(row)[:8],
                position,
                orjson.dumps(row.network.dump()).decode(),
                row.epoch,
            ),
        )

    def _taken(self, db: sqlite3.Connection, spec: TenantSpec) -> bool:
        if db.execute("SELECT 1 FROM tenants WHERE api_key = ?", (spec.api_key,)).fetchone():
            return True
        ids = [a.account_id for a in spec.accounts]
        marks = ",".join("?" * len(ids))
        return bool(
            ids
            and db.execute(f"SELECT 1 FROM accounts WHERE account_id IN ({marks})", ids).fetchone()
        )

    async def seed_fixtures(self, tenants: list[TenantSpec], born: float | None = None) -> None:
        with self._tx() as db:
            now = born_at(self._clock_in(db), born)
            # Fixture tenants dropped from the fixtures are kept like runtime ones, till a reset.
            db.execute("UPDATE tenants SET runtime = 1 WHERE runtime = 0")
            for spec in tenants:
                self._reconcile(db, spec, now)

    @staticmethod
    def _clock_in(db: sqlite3.Connection) -> ClockState:
        frozen_at, offset_s = db.execute(
            "SELECT frozen_at, offset_s FROM clock WHERE id = 1"
        ).fetchone()
        return ClockState(frozen_at, offset_s)

    def _reconcile(self, db: sqlite3.Connection, spec: TenantSpec, born: float) -> None:
        for account in spec.accounts:
            owner = db.execute(
                "SELECT api_key FROM accounts WHERE account_id = ?", (account.account_id,)
            ).fetchone()
            if owner is not None and owner[0] != spec.api_key:
                raise StoreConflict(
                    f"account_id '{account.account_id}' of fixture tenant '{spec.api_key}'"
                    " belongs to another key in the state file"
                )
        found = db.execute("SELECT 1 FROM tenants WHERE api_key = ?", (spec.api_key,)).fetchone()
        if found is None:
            self._insert_tenant(db, spec, runtime=False, born=born)
            return
        # A kept file keeps its balances and statuses; new accounts join; a reset goes back to
        # today's fixture.
        db.execute(
            "UPDATE tenants SET spec = ?, runtime = 0 WHERE api_key = ?",
            (spec.model_dump_json(), spec.api_key),
        )
        for position, account in enumerate(spec.accounts):
            self._insert_account(db, spec.api_key, position, account, missing_only=True)

    async def create_tenant(self, spec: TenantSpec, born: float | None = None) -> bool:
        try:
            with self._tx() as db:
                if self._taken(db, spec):
                    return False
                self._insert_tenant(db, spec, runtime=True, born=born_at(self._clock_in(db), born))
                return True
        except sqlite3.IntegrityError:  # the spec lists one account id twice
            return False

    async def tenant(self, api_key: str) -> Tenant | None:
        row = self._one(
            f"SELECT t.api_key, t.balance, t.consumed, t.rate_limit, t.clock_offset, {_DISPLAY},"
            " t.generation FROM tenants t WHERE t.api_key = ?",
            (api_key,),
        )
        return Tenant(*row) if row else None  # type: ignore[arg-type]

    async def api_keys(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT api_key FROM tenants ORDER BY api_key").fetchall()
        return [row[0] for row in rows]

    async def lookup(self, api_key: str, account_id: str | None) -> Lookup:
        # One statement for the four reads every v2 request starts with.
        row = self._one(
            f"SELECT t.api_key, t.balance, t.consumed, t.rate_limit, t.clock_offset, {_DISPLAY},"
            " EXISTS (SELECT 1 FROM faults), c.frozen_at, c.offset_s, t.generation, "
            + _ACCOUNT_COLUMNS
            + " FROM clock c LEFT JOIN tenants t ON t.api_key = ?1"
            " LEFT JOIN accounts a ON a.account_id = ?2"
            " LEFT JOIN tenants o ON o.api_key = a.api_key WHERE c.id = 1",
            (api_key, account_id),
        )
        assert row is not None  # the clock's row is made with the schema
        tenant = Tenant(*row[:6], row[9]) if row[0] is not None else None  # type: ignore[arg-type, call-arg]
        account = _account(row[10:]) if row[10] is not None else None
        return Lookup(tenant, account, bool(row[6]), ClockState(row[7], row[8]))  # type: ignore[arg-type]

    # -- the clock ----------------------------------------------------------------------------

    async def seed_clock(self, initial: ClockState) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE clock SET frozen_at = ?, offset_s = ?, seeded = 1"
                " WHERE id = 0 OR (id = 1 AND seeded = 0)",  # a kept file keeps its time
                (initial.frozen_at, initial.offset_s),
            )

    async def clock(self) -> ClockState:
        row = self._one("SELECT frozen_at, offset_s FROM clock WHERE id = 1", ())
        assert row is not None
        return ClockState(row[0], row[1])  # type: ignore[arg-type]

    async def swap_clock(self, expected: ClockState, new: ClockState) -> bool:
        with self._tx() as db:
            return (
                db.execute(
                    "UPDATE clock SET frozen_at = ?, offset_s = ?"
                    " WHERE id = 1 AND frozen_at IS ? AND offset_s = ?",
                    (new.frozen_at, new.offset_s, expected.frozen_at, expected.offset_s),
                ).rowcount
                == 1
            )

    async def swap_offset(self, api_key: str, expected: float, new: float) -> bool | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT clock_offset FROM tenants WHERE api_key = ?", (api_key,)
            ).fetchone()
            if row is None:
                return None
            if row[0] != expected:
                return False
            db.execute("UPDATE tenants SET clock_offset = ? WHERE api_key = ?", (new, api_key))
            return True

    async def account(self, account_id: str) -> Account | None:
        row = self._one(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a JOIN tenants o ON o.api_key = a.api_key"
            " WHERE a.account_id = ?",
            (account_id,),
        )
        return _account(row) if row else None

    async def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a JOIN tenants o ON o.api_key = a.api_key"
                " WHERE a.api_key = ? ORDER BY a.position LIMIT ? OFFSET ?",
                (api_key, limit, offset),
            ).fetchall()
            (total,) = self._db.execute(
                "SELECT COUNT(*) FROM accounts WHERE api_key = ?", (api_key,)
            ).fetchone()
        return [_account(row) for row in rows], total

    async def usage(self, api_key: str) -> list[Usage]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.account_id, a.status, a.country, COALESCE(SUM(u.calls), 0),"
                " COALESCE(SUM(u.credits), 0) FROM accounts a LEFT JOIN usage u"
                " ON u.api_key = a.api_key AND u.account_id = a.account_id"
                " WHERE a.api_key = ? GROUP BY a.account_id ORDER BY a.position",
                (api_key,),
            ).fetchall()
        return [Usage(*row) for row in rows]

    async def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool:
        columns = {"credits": "balance", "rate_limit": "rate_limit"}
        with self._tx() as db:
            found = db.execute("SELECT 1 FROM tenants WHERE api_key = ?", (api_key,)).fetchone()
            for field, value in changes.items():
                db.execute(
                    f"UPDATE tenants SET {columns[field]} = ? WHERE api_key = ?", (value, api_key)
                )
            return found is not None

    async def set_account_status(self, account_id: str, status: str, now: str) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE accounts SET status = ?, updated_at = ? WHERE account_id = ?",
                (status, now, account_id),
            )
            return cursor.rowcount == 1

    # -- credits, graph and rate ---------------------------------------------------------------

    async def apply(self, debit: Debit) -> Charge:
        with self._tx() as db:
            if debit.epoch is not None:
                found = db.execute(
                    "SELECT epoch FROM accounts WHERE account_id = ?", (debit.account_id,)
                ).fetchone()
                if found is None or found[0] != debit.epoch:
                    return Charge(ok=False, gone=True)
            for change in debit.changes:
                row = db.execute(
                    "SELECT version FROM graph WHERE account_id = ? AND member = ?",
                    (debit.account_id, change.member),
                ).fetchone()
                if (row[0] if row else 0) != change.expected:
                    return Charge(ok=False, conflict=True)
            # The check and the debit are one statement: no reader can slip between them.
            debited = db.execute(
                "UPDATE tenants SET balance = balance - ?1, consumed = consumed + ?1"
                " WHERE api_key = ?2 AND (balance IS NULL OR balance >= ?1)"
                " AND (?3 IS NULL OR generation = ?3)",
                (debit.cost, debit.api_key, debit.generation),
            ).rowcount
            if not debited:
                current = db.execute(
                    "SELECT balance, generation FROM tenants WHERE api_key = ?", (debit.api_key,)
                ).fetchone()
                if current is None or debit.generation not in (None, current[1]):
                    return Charge(ok=False, gone=True)
                return Charge(ok=False, balance=current[0])
            if debit.usage:
                use = (debit.api_key, debit.account_id, debit.action, 1, debit.cost)
                db.execute(USAGE_UPSERT, use)
            if debit.changes:
                (seq,) = db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM graph WHERE account_id = ?",
                    (debit.account_id,),
                ).fetchone()
                db.executemany(
                    "INSERT INTO graph (account_id, member, version, seq, record)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, member) DO UPDATE SET"
                    " version = excluded.version, seq = excluded.seq, record = excluded.record",
                    [
                        (debit.account_id, c.member, c.expected + 1, seq + i, c.record)
                        for i, c in enumerate(debit.changes, 1)
                    ],
                )
            return Charge(ok=True)

    async def graph(self, account_id: str) -> list[GraphEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT member, version, seq, record FROM graph WHERE account_id = ? ORDER BY seq",
                (account_id,),
            ).fetchall()
        return [GraphEntry(*row) for row in rows]

    async def graph_since(self, account_id: str, after: int) -> list[GraphEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT member, version, seq, record FROM graph WHERE account_id = ? AND seq > ?"
                " ORDER BY seq",
                (account_id, after),
            ).fetchall()
        return [GraphEntry(*row) for row in rows]

    async def hit_rate(
        self, api_key: str, limit: int, window_s: float, now: float, generation: int | None = None
    ) -> RateHit:
        # A window passed, or one that starts after now (the clock went back), starts anew.
        fresh = "(?2 >= window_start + ?3 OR ?2 < window_start)"
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO rate_windows (api_key, window_start, count) SELECT ?1, ?2, 1"
                " WHERE ?4 IS NULL OR EXISTS"
                " (SELECT 1 FROM tenants WHERE api_key = ?1 AND generation = ?4)"
                " ON CONFLICT (api_key) DO UPDATE SET"
                f" count = CASE WHEN {fresh} THEN 1 ELSE count + 1 END,"
                f" window_start = CASE WHEN {fresh} THEN ?2 ELSE window_start END"
                " RETURNING window_start, count",
                (api_key, now, window_s, generation),
            ).fetchone()
        if row is None:  # a call from the tenant's last life: not counted in this one
            return RateHit(allowed=True, retry_after=1)
        start, count = row
        retry_after = max(1, math.ceil(start + window_s - now))
        return RateHit(allowed=count <= limit, retry_after=retry_after)

    # -- journal ------------------------------------------------------------------------------

    async def record(self, entry: JournalEntry, bound: int, generation: int | None = None) -> None:
        """Rows are buffered and written in batches (by size, by timer, before any read or
        reset) while this process is the file's only user, so nothing can see them missing; a
        crash loses at most FLUSH_S of journal, never a debit. A file shared by workers gets
        every row at once, in one transaction, so every worker reads them all."""
        row = (entry.api_key, entry.account_id, orjson.dumps(entry), generation)
        with self._lock:
            self._pending.append(row)
            self._bound = bound
            if not self._buffered or len(self._pending) >= FLUSH_ROWS:
                self._flush_or_drop()
            elif self._timer is None:
                self._timer = threading.Timer(FLUSH_S, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._flush_or_drop()

    def _flush_or_drop(self) -> None:
        """A flush whose failure drops the batch (logged once per burst): the journal is a
        record of calls, whose debits were written whole; a full disk must not fail calls
        already answered, nor let the buffer grow."""
        try:
            self._flush_locked()
        except StoreFailure as failure:
            dropped = len(self._pending)
            self._pending.clear()
            STORE_ERRORS.error("journal rows dropped", reason=failure.reason, rows=dropped)

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending:
            with self._write() as db:
                self._flush_into(db)

    def _flush_into(self, db: sqlite3.Connection) -> None:
        """The buffered journal rows, in the caller's transaction (a reset's: rows of calls
        made before it are then reset with it, never left to land after it)."""
        if not self._pending:
            return
        # A row whose tenant was reset since its call read it is not written: the reset has
        # already happened for it (another process's, or one between the call and now).
        db.executemany(
            "INSERT INTO journal (api_key, account_id, entry) SELECT ?1, ?2, ?3"
            " WHERE ?4 IS NULL OR ?1 IS NULL OR EXISTS"
            " (SELECT 1 FROM tenants WHERE api_key = ?1 AND generation = ?4)",
            self._pending,
        )
        (last,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()
        # Ids only grow, so the rows past the bound are exactly the oldest ones.
        db.execute("DELETE FROM journal WHERE id <= ?", (last - self._bound,))
        self._pending.clear()

    async def journal(
        self, api_key: str | None, account_id: str | None, limit: int
    ) -> tuple[list[tuple[int, JournalEntry]], int]:
        where, args = [], []
        if api_key is not None:
            where.append("api_key = ?")
            args.append(api_key)
        if account_id is not None:
            where.append("account_id = ?")
            args.append(account_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            self._flush_or_drop()  # a full disk still lets the journal be read
            rows = self._db.execute(
                f"SELECT id, entry FROM journal{clause} ORDER BY id DESC LIMIT ?", (*args, limit)
            ).fetchall()
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM journal{clause}", args).fetchone()
        return [(rowid, JournalEntry(**orjson.loads(blob))) for rowid, blob in rows], total

    # -- faults -------------------------------------------------------------------------------

    def _rule(self, row: tuple[int, str, int, int | None]) -> FaultRule:
        rowid, spec, matched, remaining = row
        return FaultRule(fault_id(rowid), FaultSpec.model_validate_json(spec), matched, remaining)

    async def fault_add(self, spec: FaultSpec) -> FaultRule:
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO faults (spec, api_key, account_id, action, remaining)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id, spec, matched, remaining",
                (
                    spec.model_dump_json(),
                    spec.match.api_key,
                    spec.match.account_id,
                    spec.match.action,
                    spec.times,
                ),
            ).fetchone()
        return self._rule(row)

    async def faults(self, api_key: str | None) -> list[FaultRule]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, spec, matched, remaining FROM faults"
                " WHERE ?1 IS NULL OR api_key = ?1 ORDER BY id",
                (api_key,),
            ).fetchall()
        return [self._rule(row) for row in rows]

    async def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        with self._tx() as db:
            if fault_id is None:
                return db.execute(
                    "DELETE FROM faults WHERE ?1 IS NULL OR api_key = ?1", (api_key,)
                ).rowcount
            number = fault_number(fault_id)
            if number is None:
                return 0
            return db.execute("DELETE FROM faults WHERE id = ?", (number,)).rowcount

    async def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
        with self._tx() as db:
            rows = db.execute(
                "UPDATE faults SET matched = matched + 1, remaining = remaining - 1"
                " WHERE (api_key IS NULL OR api_key = ?1)"
                " AND (account_id IS NULL OR account_id IS ?2)"
                " AND (action IS NULL OR action = ?3)"
                " RETURNING id, spec, matched, remaining",
                (api_key, account_id, action),
            ).fetchall()
            if any(row[3] == 0 for row in rows):
                db.execute("DELETE FROM faults WHERE remaining = 0")
        return [FaultHit(self._rule(row), row[2]) for row in sorted(rows)]

    # -- reset --------------------------------------------------------------------------------

    async def reset(self, api_key: str | None) -> bool:
        with self._lock, self._write() as db:
            self._flush_into(db)
            if api_key is None:
                specs = db.execute("SELECT spec, born FROM tenants WHERE runtime = 0").fetchall()
                tables = "accounts tenants usage rate_windows journal faults graph"
                for table in tables.split():
                    db.execute(f"DELETE FROM {table}")
                db.execute("DELETE FROM sqlite_sequence WHERE name = 'faults'")
                db.execute(
                    "UPDATE clock SET (frozen_at, offset_s) ="
                    " (SELECT frozen_at, offset_s FROM clock WHERE id = 0) WHERE id = 1"
                )
                for spec, born in specs:
                    self._insert_tenant(
                        db, TenantSpec.model_validate_json(spec), runtime=False, born=born
                    )
                return True
            row = db.execute(
                "SELECT spec, runtime, born FROM tenants WHERE api_key = ?", (api_key,)
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "DELETE FROM graph WHERE account_id IN"
                " (SELECT account_id FROM accounts WHERE api_key = ?)",
                (api_key,),
            )
            db.execute("DELETE FROM accounts WHERE api_key = ?", (api_key,))
            db.execute("DELETE FROM tenants WHERE api_key = ?", (api_key,))
            for table in ("usage", "rate_windows", "journal", "faults"):
                db.execute(f"DELETE FROM {table} WHERE api_key = ?", (api_key,))
            spec = TenantSpec.model_validate_json(row[0])
            self._insert_tenant(db, spec, runtime=bool(row[1]), born=row[2])
            return True

    async def problem(self) -> str | None:
        if self._identity is not None and _identity(self.path) != self._identity:
            return (
                f"the state file {self.path} was deleted or replaced while the server ran;"
                " restart the emulator"
            )
        if self._problem is not None:
            return self._problem
        try:
            disk = os.statvfs(self._folder)
        except OSError as error:
            return f"the state file's folder can't be read: {error.strerror or error}"
        if disk.f_bavail * disk.f_frsize < MIN_FREE:
            return f"the disk holding {self.path} is full"
        return None

    async def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            try:
                self._flush_or_drop()
            finally:
                self._db.close()


def _identity(path: str) -> tuple[int, int] | None:
    """The file's device and inode; None once it is gone."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
