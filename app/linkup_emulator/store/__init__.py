"""The store: the protocol and its records (base.py), its backends, and open_store(url)."""

from __future__ import annotations

from linkup_emulator.store.base import (
    Account,
    Change,
    Charge,
    Debit,
    FaultHit,
    FaultRule,
    GraphEntry,
    JournalEntry,
    Lookup,
    RateHit,
    Store,
    StoreConflict,
    Tenant,
    Usage,
)

MEMORY = ":memory:"


class StoreUnavailable(Exception):
    """A state URL that names no backend this build has, or one that cannot be opened."""


def open_store(url: str, *, processes: int = 1) -> Store:
    """The backend `url` (EMULATOR_STATE) names: ':memory:', or a SQLite file path.
    `processes` is how many server processes will share it (a file's journal is then
    written at once, for every process to read)."""
    if url == MEMORY:
        from linkup_emulator.store.memory import MemoryStore

        return MemoryStore()
    scheme, sep, _ = url.partition("://")
    if sep and scheme.isalnum():  # e.g. redis://host:6379/0
        raise StoreUnavailable(
            f"'{scheme}://' states are not supported; use ':memory:' or a SQLite file path"
        )
    import sqlite3

    from linkup_emulator.store.sqlite import SqliteStore

    try:
        return SqliteStore(url, exclusive=processes == 1)
    except (sqlite3.Error, OSError) as error:
        raise StoreUnavailable(f"cannot open the state {url}: {error}") from error


__all__ = [
    "MEMORY",
    "Account",
    "Change",
    "Charge",
    "Debit",
    "FaultHit",
    "FaultRule",
    "GraphEntry",
    "JournalEntry",
    "Lookup",
    "RateHit",
    "Store",
    "StoreConflict",
    "StoreUnavailable",
    "Tenant",
    "Usage",
    "open_store",
]
