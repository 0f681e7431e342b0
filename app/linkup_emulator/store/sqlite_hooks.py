"""The SQLite store's webhooks (store/hooks.py): tables of their own, each row its tenant's
(a reset's delete of the tenant takes them, by cascade)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager

from linkup_emulator.store.hooks import Claim, HookEvent, Webhook

HOOK_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    webhook_id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL REFERENCES tenants(api_key) ON DELETE CASCADE,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_key ON webhooks(api_key);
CREATE TABLE IF NOT EXISTS webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks(webhook_id) ON DELETE CASCADE,
    api_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_events_by_key ON webhook_events(api_key, created_at);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    webhook_id TEXT NOT NULL REFERENCES webhooks(webhook_id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    api_key TEXT NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(due);
CREATE TABLE IF NOT EXISTS cursors (
    api_key TEXT NOT NULL REFERENCES tenants(api_key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (api_key, name)
);
"""

USAGE_UPSERT = (
    "INSERT INTO usage (api_key, account_id, action, calls, credits) VALUES (?, ?, ?, 1, ?)"
    " ON CONFLICT (api_key, account_id, action)"
    " DO UPDATE SET calls = calls + 1, credits = credits + excluded.credits"
)


class SqliteHooks:
    """Mixed into SqliteStore, whose connection, lock and transactions it shares."""

    _lock: threading.Lock
    _db: sqlite3.Connection

    _tx: Callable[[], AbstractContextManager[sqlite3.Connection]]  # SqliteStore's

    @staticmethod
    def _hooks_schema(db: sqlite3.Connection) -> None:
        for statement in HOOK_SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)

    def _rows(self, sql: str, args: tuple[object, ...]) -> Iterator[tuple[object, ...]]:
        with self._lock:
            rows: list[tuple[object, ...]] = self._db.execute(sql, args).fetchall()
        return iter(rows)

    async def hook_save(self, hook: Webhook, *, create: bool) -> bool:
        try:
            with self._tx() as db:
                if create:
                    db.execute(
                        "INSERT INTO webhooks (webhook_id, api_key, record) VALUES (?, ?, ?)",
                        (hook.webhook_id, hook.api_key, hook.dump()),
                    )
                    return True
                return (
                    db.execute(
                        "UPDATE webhooks SET record = ? WHERE webhook_id = ? AND api_key = ?",
                        (hook.dump(), hook.webhook_id, hook.api_key),
                    ).rowcount
                    == 1
                )
        except sqlite3.IntegrityError:  # the id is taken, or the tenant is gone
            return False

    async def hooks(self, api_key: str | None) -> list[Webhook]:
        rows = self._rows(
            "SELECT record FROM webhooks WHERE ?1 IS NULL OR api_key = ?1 ORDER BY rowid",
            (api_key,),
        )
        return [Webhook.load(record) for (record,) in rows]  # type: ignore[arg-type]

    async def hook_drop(self, api_key: str, webhook_id: str) -> bool:
        with self._tx() as db:
            return (
                db.execute(
                    "DELETE FROM webhooks WHERE webhook_id = ? AND api_key = ?",
                    (webhook_id, api_key),
                ).rowcount
                == 1
            )

    async def hook_emit(
        self, api_key: str, events: Sequence[HookEvent], due: float | None
    ) -> list[HookEvent]:
        added = []
        with self._tx() as db:
            for event in events:
                owned = db.execute(
                    "SELECT 1 FROM webhooks WHERE webhook_id = ? AND api_key = ?",
                    (event.webhook_id, api_key),
                ).fetchone()
                if owned is None:
                    continue
                row = db.execute(
                    "INSERT INTO webhook_events (webhook_id, api_key, event_id, created_at, body)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (webhook_id, event_id) DO NOTHING"
                    " RETURNING seq",
                    (event.webhook_id, api_key, event.event_id, event.created_at, event.body),
                ).fetchone()
                if row is None:
                    continue
                added.append(
                    HookEvent(
                        event.webhook_id, event.event_id, event.created_at, event.body, row[0]
                    )
                )
                if due is not None:
                    db.execute(
                        "INSERT OR IGNORE INTO webhook_deliveries"
                        " (webhook_id, event_id, api_key, due) VALUES (?, ?, ?, ?)",
                        (event.webhook_id, event.event_id, api_key, due),
                    )
        return added

    async def hook_events(self, api_key: str, webhook_id: str) -> list[HookEvent]:
        rows = self._rows(
            "SELECT webhook_id, event_id, created_at, body, seq FROM webhook_events"
            " WHERE webhook_id = ? AND api_key = ? ORDER BY seq",
            (webhook_id, api_key),
        )
        return [HookEvent(*row) for row in rows]  # type: ignore[arg-type]

    async def hook_event(self, api_key: str, webhook_id: str, event_id: str) -> HookEvent | None:
        row = next(
            self._rows(
                "SELECT webhook_id, event_id, created_at, body, seq FROM webhook_events"
                " WHERE webhook_id = ? AND event_id = ? AND api_key = ?",
                (webhook_id, event_id, api_key),
            ),
            None,
        )
        return None if row is None else HookEvent(*row)  # type: ignore[arg-type]

    async def hook_purge(self, api_key: str, before: float) -> int:
        with self._tx() as db:
            return db.execute(
                "DELETE FROM webhook_events WHERE api_key = ? AND created_at < ?",
                (api_key, before),
            ).rowcount

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        token = os.urandom(8).hex()
        with self._tx() as db:
            rows = db.execute(
                "UPDATE webhook_deliveries SET due = ?1, token = ?2 WHERE rowid IN"
                " (SELECT rowid FROM webhook_deliveries WHERE due <= ?3 ORDER BY due LIMIT ?4)"
                " RETURNING api_key, webhook_id, event_id, attempts",
                (now + lease_s, token, now, limit),
            ).fetchall()
        return [Claim(key, hook, event, attempts, token) for key, hook, event, attempts in rows]

    async def settle(self, claim: Claim, retry_at: float | None) -> bool:
        key = (claim.webhook_id, claim.event_id, claim.token)
        with self._tx() as db:
            if retry_at is None:
                sql = "DELETE FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?"
                cursor = db.execute(sql + " AND token = ?", key)
            else:
                cursor = db.execute(
                    "UPDATE webhook_deliveries SET due = ?, token = NULL, attempts = attempts + 1"
                    " WHERE webhook_id = ? AND event_id = ? AND token = ?",
                    (retry_at, *key),
                )
            return cursor.rowcount == 1

    async def cursor(self, api_key: str, name: str) -> float | None:
        found = next(
            self._rows("SELECT value FROM cursors WHERE api_key = ? AND name = ?", (api_key, name)),
            None,
        )
        return None if found is None else float(found[0])  # type: ignore[arg-type]

    async def swap_cursor(
        self,
        api_key: str,
        name: str,
        expected: float | None,
        new: float | None,
        charge: tuple[str, str, int] | None = None,
    ) -> bool:
        try:
            with self._tx() as db:
                row = db.execute(
                    "SELECT value FROM cursors WHERE api_key = ? AND name = ?", (api_key, name)
                ).fetchone()
                if (None if row is None else row[0]) != expected:
                    return False
                if new is None:
                    db.execute(
                        "DELETE FROM cursors WHERE api_key = ? AND name = ?", (api_key, name)
                    )
                else:
                    db.execute(
                        "INSERT INTO cursors (api_key, name, value) VALUES (?, ?, ?)"
                        " ON CONFLICT (api_key, name) DO UPDATE SET value = excluded.value",
                        (api_key, name, new),
                    )
                if charge is not None:
                    self._charge(db, api_key, *charge)
                return True
        except sqlite3.IntegrityError:  # the tenant is gone
            return False

    @staticmethod
    def _charge(
        db: sqlite3.Connection, api_key: str, account_id: str, action: str, cost: int
    ) -> None:
        row = db.execute("SELECT balance FROM tenants WHERE api_key = ?", (api_key,)).fetchone()
        if row is None:
            raise sqlite3.IntegrityError("the tenant is gone")
        taken = cost if row[0] is None else min(cost, row[0])
        db.execute(
            "UPDATE tenants SET balance = balance - ?1, consumed = consumed + ?1"
            " WHERE api_key = ?2",
            (taken, api_key),
        )
        db.execute(USAGE_UPSERT, (api_key, account_id, action, taken))
