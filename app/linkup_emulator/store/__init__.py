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
    StoreFailure,
    Tenant,
    Usage,
)

MEMORY = ":memory:"


class StoreUnavailable(Exception):
    """A state URL that names no backend this build has, or one that cannot be opened."""


REDIS_SCHEMES = ("redis", "rediss")


def open_store(url: str, *, processes: int = 1, prefix: str = "linkup:") -> Store:
    """The backend `url` (EMULATOR_STATE) names: ':memory:', a SQLite file path, or a Redis
    URL (redis://[user:password@]host[:port][/db], rediss:// for TLS) whose keys start with
    `prefix`. `processes` is how many server processes will share it (a file's journal is
    then written at once, for every process to read)."""
    if url == MEMORY:
        from linkup_emulator.store.memory import MemoryStore

        return MemoryStore()
    scheme, sep, _ = url.partition("://")
    if sep and scheme in REDIS_SCHEMES:
        return _open_redis(url, prefix)
    if sep and scheme.isalnum():  # e.g. postgres://host/db
        raise StoreUnavailable(
            f"'{scheme}://' states are not supported; use ':memory:', a SQLite file path"
            " or redis://host:port/db"
        )
    import sqlite3

    from linkup_emulator.store.sqlite import SqliteStore, StateRefused

    try:
        return SqliteStore(url, exclusive=processes == 1)
    except StateRefused as refused:
        raise StoreUnavailable(str(refused)) from None
    except (sqlite3.Error, OSError) as error:
        raise StoreUnavailable(f"cannot open the state {url}: {error}") from error


def _open_redis(url: str, prefix: str) -> Store:
    """A Redis store, once the server has answered a PING (a start fails at once, not at the
    first request); the URL's password never shows in the error."""
    import redis

    from linkup_emulator.store.redis import RedisStore, check

    shown = _without_password(url)
    try:
        check(url)
    except ValueError as error:
        raise StoreUnavailable(f"malformed Redis URL {shown}: {error}") from error
    except redis.RedisError as error:
        raise StoreUnavailable(f"cannot reach Redis at {shown}: {error}") from error
    return RedisStore(url, prefix)


def _without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else f"{scheme}://{user}@{host}"


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
    "StoreFailure",
    "StoreUnavailable",
    "Tenant",
    "Usage",
    "open_store",
]
