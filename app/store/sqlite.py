"""The embedded SQLite store: in memory for CI, or a WAL file shared by workers and restarts."""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from app.models import AccountSpec, FaultSpec, TenantSpec
from app.store import (
    Account,
    Charge,
    FaultHit,
    FaultRule,
    JournalEntry,
    Lookup,
    RateHit,
    StoreConflict,
    Tenant,
    Usage,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    api_key TEXT PRIMARY KEY,
    balance INTEGER,
    consumed INTEGER NOT NULL DEFAULT 0,
    rate_limit INTEGER,
    spec TEXT NOT NULL,
    runtime INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL REFERENCES tenants(api_key) ON DELETE CASCADE,
    account_name TEXT NOT NULL,
    status TEXT NOT NULL,
    country TEXT NOT NULL,
    pool_size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position INTEGER NOT NULL
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
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,
    api_key TEXT,
    account_id TEXT,
    action TEXT,
    matched INTEGER NOT NULL DEFAULT 0,
    remaining INTEGER
);
"""


USAGE_UPSERT = (
    "INSERT INTO usage (api_key, account_id, action, calls, credits) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (api_key, account_id, action)"
    " DO UPDATE SET calls = calls + excluded.calls, credits = credits + excluded.credits"
)
FLUSH_ROWS = 256  # journal rows buffered before a write
FLUSH_S = 0.1  # and the longest a row waits


def _created_at(account_id: str) -> str:
    """A stable, plausible creation time in 2025 for accounts whose fixture gives none."""
    digest = hashlib.sha256(b"created_at\x00" + account_id.encode()).digest()
    offset = int.from_bytes(digest[:4], "big") % (365 * 86400)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1735689600 + offset))


def _fault_id(rowid: int) -> str:
    return f"flt_{rowid}"


class SqliteStore:
    """One connection per process, guarded by a lock; cross-process safety comes from SQLite."""

    def __init__(self, path: str = ":memory:", *, shared: bool = False) -> None:
        """`shared`: other processes (workers) use the same file, so nothing may be buffered."""
        self.path = path
        self.kind = "memory" if path == ":memory:" else "file"
        self._buffered = not shared
        self._lock = threading.Lock()
        self._pending: list[tuple[str | None, str | None, bytes]] = []
        self._usage_pending: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._bound = 1
        self._timer: threading.Timer | None = None
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._flock: int | None = None
        if self.kind == "file":
            # Writers from other processes queue on this lock, woken the moment it is free;
            # SQLite's own busy wait polls in sleeps of a millisecond and more (a p99 cliff).
            self._flock = os.open(f"{path}-writer.lock", os.O_CREAT | os.O_RDWR, 0o644)
            weakref.finalize(self, os.close, self._flock)
            # WAL lets workers read while one writes; NORMAL sync survives a killed process.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        with self._tx() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._write() as db:
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction (the write lock up front: no upgrade deadlocks), behind the
        cross-process writer lock of a file store. The caller holds self._lock."""
        if self._flock is not None:
            fcntl.flock(self._flock, fcntl.LOCK_EX)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if self._flock is not None:
                fcntl.flock(self._flock, fcntl.LOCK_UN)

    def _one(self, sql: str, args: tuple[object, ...]) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._db.execute(sql, args).fetchone()
            return row

    # -- tenants -----------------------------------------------------------------------------

    def _insert_tenant(self, db: sqlite3.Connection, spec: TenantSpec, runtime: bool) -> None:
        db.execute(
            "INSERT INTO tenants (api_key, balance, consumed, rate_limit, spec, runtime)"
            " VALUES (?, ?, 0, ?, ?, ?)",
            (spec.api_key, spec.credits, spec.rate_limit, spec.model_dump_json(), int(runtime)),
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
        created = account.created_at or _created_at(account.account_id)
        verb = "INSERT OR IGNORE" if missing_only else "INSERT"
        db.execute(
            f"{verb} INTO accounts (account_id, api_key, account_name, status, country,"
            " pool_size, created_at, updated_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                account.account_id,
                api_key,
                account.account_name or account.account_id,
                account.status,
                account.country,
                account.pool_size,
                created,
                created,
                position,
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

    def seed_fixtures(self, tenants: list[TenantSpec]) -> None:
        with self._tx() as db:
            # Fixture tenants dropped from the fixtures are kept like runtime ones, till a reset.
            db.execute("UPDATE tenants SET runtime = 1 WHERE runtime = 0")
            for spec in tenants:
                self._reconcile(db, spec)

    def _reconcile(self, db: sqlite3.Connection, spec: TenantSpec) -> None:
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
            self._insert_tenant(db, spec, runtime=False)
            return
        # A kept file keeps its balances and statuses; new accounts join; a reset goes back to
        # today's fixture.
        db.execute(
            "UPDATE tenants SET spec = ?, runtime = 0 WHERE api_key = ?",
            (spec.model_dump_json(), spec.api_key),
        )
        for position, account in enumerate(spec.accounts):
            self._insert_account(db, spec.api_key, position, account, missing_only=True)

    def create_tenant(self, spec: TenantSpec) -> bool:
        try:
            with self._tx() as db:
                if self._taken(db, spec):
                    return False
                self._insert_tenant(db, spec, runtime=True)
                return True
        except sqlite3.IntegrityError:  # the spec lists one account id twice
            return False

    def tenant(self, api_key: str) -> Tenant | None:
        row = self._one(
            "SELECT api_key, balance, consumed, rate_limit FROM tenants WHERE api_key = ?",
            (api_key,),
        )
        return Tenant(*row) if row else None  # type: ignore[arg-type]

    def lookup(self, api_key: str, account_id: str | None) -> Lookup | None:
        # One statement for the three reads every v2 request starts with.
        row = self._one(
            "SELECT t.api_key, t.balance, t.consumed, t.rate_limit,"
            " EXISTS (SELECT 1 FROM faults), a.account_id, a.api_key, a.account_name, a.status,"
            " a.country, a.pool_size, a.created_at, a.updated_at"
            " FROM tenants t LEFT JOIN accounts a ON a.account_id = ?2 WHERE t.api_key = ?1",
            (api_key, account_id),
        )
        if row is None:
            return None
        account = Account(*row[5:]) if row[5] is not None else None  # type: ignore[arg-type]
        return Lookup(Tenant(*row[:4]), account, bool(row[4]))  # type: ignore[arg-type]

    def account(self, account_id: str) -> Account | None:
        row = self._one(
            "SELECT account_id, api_key, account_name, status, country, pool_size, created_at,"
            " updated_at FROM accounts WHERE account_id = ?",
            (account_id,),
        )
        return Account(*row) if row else None  # type: ignore[arg-type]

    def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT account_id, api_key, account_name, status, country, pool_size, created_at,"
                " updated_at FROM accounts WHERE api_key = ? ORDER BY position LIMIT ? OFFSET ?",
                (api_key, limit, offset),
            ).fetchall()
            (total,) = self._db.execute(
                "SELECT COUNT(*) FROM accounts WHERE api_key = ?", (api_key,)
            ).fetchone()
        return [Account(*row) for row in rows], total

    def usage(self, api_key: str) -> list[Usage]:
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(
                "SELECT a.account_id, a.status, a.country, COALESCE(SUM(u.calls), 0),"
                " COALESCE(SUM(u.credits), 0) FROM accounts a LEFT JOIN usage u"
                " ON u.api_key = a.api_key AND u.account_id = a.account_id"
                " WHERE a.api_key = ? GROUP BY a.account_id ORDER BY a.position",
                (api_key,),
            ).fetchall()
        return [Usage(*row) for row in rows]

    def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool:
        columns = {"credits": "balance", "rate_limit": "rate_limit"}
        with self._tx() as db:
            found = db.execute("SELECT 1 FROM tenants WHERE api_key = ?", (api_key,)).fetchone()
            for field, value in changes.items():
                db.execute(
                    f"UPDATE tenants SET {columns[field]} = ? WHERE api_key = ?", (value, api_key)
                )
            return found is not None

    def set_account_status(self, account_id: str, status: str, now: str) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE accounts SET status = ?, updated_at = ? WHERE account_id = ?",
                (status, now, account_id),
            )
            return cursor.rowcount == 1

    # -- credits and rate ---------------------------------------------------------------------

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        """For a pair of writes that cannot fail halfway: in memory the lock is enough (one
        connection, nothing survives a crash); a file needs the transaction, for kill -9."""
        if self.kind == "file":
            with self._tx() as db:
                yield db
        else:
            with self._lock:
                yield self._db

    def charge(self, api_key: str, account_id: str, action: str, cost: int) -> Charge:
        with self._atomic() as db:
            # The check and the debit are one statement: no reader can slip between them.
            debited = db.execute(
                "UPDATE tenants SET balance = balance - ?1, consumed = consumed + ?1"
                " WHERE api_key = ?2 AND (balance IS NULL OR balance >= ?1)",
                (cost, api_key),
            ).rowcount
            if not debited:
                current = db.execute(
                    "SELECT balance FROM tenants WHERE api_key = ?", (api_key,)
                ).fetchone()
                if current is None:
                    return Charge(ok=False, gone=True)
                return Charge(ok=False, balance=current[0])
            if self.kind == "memory":
                # Nothing outlives this process, so per-account use is added up here and
                # written with the journal (before any read); a file records it with the debit.
                calls, credits = self._usage_pending.get((api_key, account_id, action), (0, 0))
                self._usage_pending[(api_key, account_id, action)] = (calls + 1, credits + cost)
            else:
                db.execute(USAGE_UPSERT, (api_key, account_id, action, 1, cost))
            return Charge(ok=True)

    def hit_rate(self, api_key: str, limit: int, window_s: float, now: float) -> RateHit:
        with self._atomic() as db:
            start, count = db.execute(
                "INSERT INTO rate_windows (api_key, window_start, count) VALUES (?1, ?2, 1)"
                " ON CONFLICT (api_key) DO UPDATE SET"
                " count = CASE WHEN ?2 >= window_start + ?3 THEN 1 ELSE count + 1 END,"
                " window_start = CASE WHEN ?2 >= window_start + ?3 THEN ?2 ELSE window_start END"
                " RETURNING window_start, count",
                (api_key, now, window_s),
            ).fetchone()
        retry_after = max(1, math.ceil(start + window_s - now))
        return RateHit(allowed=count <= limit, retry_after=retry_after)

    # -- journal ------------------------------------------------------------------------------

    def journal_add(self, entry: JournalEntry, bound: int) -> None:
        """Rows are buffered and written in batches (by size, by timer, before any read or
        reset) while this process is the store's only user, so nothing can see them missing; a
        crash loses at most FLUSH_S of journal, never a debit. A file shared by workers gets
        every row at once, in one transaction, so every worker reads them all."""
        row = (entry.api_key, entry.account_id, orjson.dumps(entry))
        with self._lock:
            self._pending.append(row)
            self._bound = bound
            if not self._buffered or len(self._pending) >= FLUSH_ROWS:
                self._flush_locked()
            elif self._timer is None:
                self._timer = threading.Timer(FLUSH_S, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending and not self._usage_pending:
            return
        with self._write() as db:
            db.executemany(USAGE_UPSERT, [(*key, *use) for key, use in self._usage_pending.items()])
            db.executemany(
                "INSERT INTO journal (api_key, account_id, entry) VALUES (?, ?, ?)", self._pending
            )
            (last,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM journal").fetchone()
            # Ids only grow, so the rows past the bound are exactly the oldest ones.
            db.execute("DELETE FROM journal WHERE id <= ?", (last - self._bound,))
        self._pending.clear()
        self._usage_pending.clear()

    def journal(
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
            self._flush_locked()
            rows = self._db.execute(
                f"SELECT id, entry FROM journal{clause} ORDER BY id DESC LIMIT ?", (*args, limit)
            ).fetchall()
            (total,) = self._db.execute(f"SELECT COUNT(*) FROM journal{clause}", args).fetchone()
        return [(rowid, JournalEntry(**orjson.loads(blob))) for rowid, blob in rows], total

    # -- faults -------------------------------------------------------------------------------

    def _rule(self, row: tuple[int, str, int, int | None]) -> FaultRule:
        rowid, spec, matched, remaining = row
        return FaultRule(_fault_id(rowid), FaultSpec.model_validate_json(spec), matched, remaining)

    def fault_add(self, spec: FaultSpec) -> FaultRule:
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

    def faults(self, api_key: str | None) -> list[FaultRule]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, spec, matched, remaining FROM faults"
                " WHERE ?1 IS NULL OR api_key = ?1 ORDER BY id",
                (api_key,),
            ).fetchall()
        return [self._rule(row) for row in rows]

    def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        with self._tx() as db:
            if fault_id is None:
                return db.execute(
                    "DELETE FROM faults WHERE ?1 IS NULL OR api_key = ?1", (api_key,)
                ).rowcount
            rowid = fault_id.removeprefix("flt_")
            if not (rowid.isascii() and rowid.isdigit() and len(rowid) < 16):
                return 0
            return db.execute("DELETE FROM faults WHERE id = ?", (int(rowid),)).rowcount

    def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
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

    def reset(self, api_key: str | None) -> bool:
        self.flush()
        with self._tx() as db:
            if api_key is None:
                specs = db.execute("SELECT spec FROM tenants WHERE runtime = 0").fetchall()
                for table in ("accounts", "tenants", "usage", "rate_windows", "journal", "faults"):
                    db.execute(f"DELETE FROM {table}")
                db.execute("DELETE FROM sqlite_sequence WHERE name = 'faults'")
                for (spec,) in specs:
                    self._insert_tenant(db, TenantSpec.model_validate_json(spec), runtime=False)
                return True
            row = db.execute(
                "SELECT spec, runtime FROM tenants WHERE api_key = ?", (api_key,)
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM accounts WHERE api_key = ?", (api_key,))
            db.execute("DELETE FROM tenants WHERE api_key = ?", (api_key,))
            for table in ("usage", "rate_windows", "journal", "faults"):
                db.execute(f"DELETE FROM {table} WHERE api_key = ?", (api_key,))
            self._insert_tenant(db, TenantSpec.model_validate_json(row[0]), runtime=bool(row[1]))
            return True

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._db.close()
