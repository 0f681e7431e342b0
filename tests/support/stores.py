"""Every store backend, opened the same way, for the contract suite and the race tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkup_emulator.models import TenantSpec
from linkup_emulator.store import Store
from linkup_emulator.store.memory import MemoryStore
from linkup_emulator.store.redis import RedisStore
from linkup_emulator.store.sqlite import SqliteStore
from tests.support.redis_server import session_server

BACKENDS = ("memory", "file", "redis")
DURABLE = ("file", "redis")  # memory lives as long as its process, by design


@dataclass
class Backend:
    """One backend's state: `connect()` is another client of the same state (a file's: a
    new connection; Redis's: a new store on the same server and key prefix; memory's: the
    same object, as only one process can see it)."""

    name: str
    connect: Callable[[], Store]


def backend(name: str, tmp_path: Path) -> Backend:
    if name == "memory":
        memory = MemoryStore()
        return Backend(name, lambda: memory)
    if name == "redis":
        # The session's real redis-server; a prefix of its own isolates this state.
        server = session_server()
        prefix = server.prefix()
        return Backend(name, lambda: RedisStore(server.url, prefix))
    path = str(tmp_path / "state.sqlite3")
    return Backend(name, lambda: SqliteStore(path))


def tenant(api_key: str = "k", credits: int | None = 1000, **extra: Any) -> TenantSpec:
    accounts = extra.pop("accounts", [{"account_id": f"acc_{api_key}"}])
    return TenantSpec.model_validate(
        {"api_key": api_key, "credits": credits, "accounts": accounts, **extra}
    )
