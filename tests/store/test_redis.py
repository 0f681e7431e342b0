"""What only the Redis store has: opening it from a URL, key prefixes, clients per event loop,
and its key layout (tenant keys share a hash tag). The protocol itself is test_contract.py's."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis

from linkup_emulator.clock import ClockState
from linkup_emulator.models import FaultSpec
from linkup_emulator.store import JournalEntry, StoreUnavailable, open_store
from linkup_emulator.store.redis import RECORD, RedisStore
from tests.support.redis_server import session_server
from tests.support.servers import free_port
from tests.support.stores import tenant


def _keys(url: str, prefix: str) -> list[str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return sorted(client.scan_iter(match=f"{prefix}*"))
    finally:
        client.close()


def test_a_redis_url_opens_the_redis_store() -> None:
    server = session_server()
    store = open_store(server.url, prefix=server.prefix())
    assert isinstance(store, RedisStore)
    assert store.name == "redis"


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:notaport/0", "redis:///0", "redis://127.0.0.1:99999/0"],
    ids=["port-not-a-number", "no-host", "port-out-of-range"],
)
def test_a_malformed_redis_url_is_refused(url: str) -> None:
    with pytest.raises(StoreUnavailable, match="malformed Redis URL"):
        open_store(url)


def test_an_unreachable_redis_is_refused_without_showing_the_password() -> None:
    url = f"redis://user:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreUnavailable, match="cannot reach Redis") as refused:
        open_store(url)
    assert "hunter2" not in str(refused.value)
    assert "user:***@" in str(refused.value)


def test_other_schemes_are_still_refused() -> None:
    with pytest.raises(StoreUnavailable, match="'postgres://' states are not supported"):
        open_store("postgres://localhost/db")


def test_a_password_in_the_url_is_used() -> None:
    server = session_server()
    client = redis.Redis.from_url(server.url)
    user = f"emulator-{server.prefix().rstrip(':')}"
    try:
        client.acl_setuser(
            user, enabled=True, passwords=["+s3cret"], commands=["+@all"], keys=["*"]
        )
        url = server.url.replace("redis://", f"redis://{user}:s3cret@")
        store = open_store(url, prefix=server.prefix())
        assert asyncio.run(store.create_tenant(tenant("k")))
        with pytest.raises(StoreUnavailable, match="cannot reach Redis"):
            open_store(server.url.replace("redis://", f"redis://{user}:wrong@"))
    finally:
        client.acl_deluser(user)
        client.close()


@pytest.mark.anyio
async def test_two_prefixes_never_meet_even_when_one_starts_the_other() -> None:
    server = session_server()
    outer = server.prefix()
    ours, theirs = RedisStore(server.url, outer), RedisStore(server.url, outer + "x:")
    try:
        for store in (ours, theirs):
            await store.seed_fixtures([tenant("k", 10)])
            await store.seed_clock(ClockState(frozen_at=100.0))
        assert await ours.create_tenant(tenant("only_ours"))
        assert await theirs.tenant("only_ours") is None
        await ours.fault_add(FaultSpec.model_validate({"error": "INTERNAL_ERROR"}))
        assert await theirs.faults(None) == []
        assert await ours.swap_clock(ClockState(frozen_at=100.0), ClockState(frozen_at=200.0))
        assert await theirs.clock() == ClockState(frozen_at=100.0)
        assert await ours.reset(None)  # every key of "<outer>" goes, none of "<outer>x:"
        assert await theirs.tenant("k") is not None
        assert await theirs.create_tenant(tenant("only_theirs"))
        assert await ours.tenant("only_theirs") is None
    finally:
        await ours.close()
        await theirs.close()


@pytest.mark.anyio
async def test_a_tenants_keys_share_one_hash_tag_and_global_state_has_its_own() -> None:
    server = session_server()
    prefix = server.prefix()
    store = RedisStore(server.url, prefix)
    try:
        await store.create_tenant(tenant("k", 10))
        await store.hit_rate("k", 5, 60, 0)
        await store.seed_clock(ClockState())
        keys = _keys(server.url, prefix)
        tags = {key[len(prefix) :].split("}", 1)[0] + "}" for key in keys}
        assert len([t for t in tags if t.startswith("{t:")]) == 1  # the one tenant's
        assert "{g}" in tags
        assert all(key.startswith(prefix + "{") for key in keys)
    finally:
        await store.close()


def test_one_store_serves_loops_of_many_threads_and_closes_their_clients() -> None:
    """The race tests' and run_sync's pattern: each thread runs its own loop, then ends it."""
    server = session_server()
    store = RedisStore(server.url, server.prefix())
    asyncio.run(store.create_tenant(tenant("k", 100)))
    outcomes: list[bool] = []

    def call() -> None:
        outcomes.append(asyncio.run(store.tenant("k")) is not None)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * 8
    assert store._clients == {}  # every loop closed its client as it shut down


@pytest.mark.anyio
async def test_close_closes_this_loops_client() -> None:
    server = session_server()
    store = RedisStore(server.url, server.prefix())
    await store.tenant("k")
    assert asyncio.get_running_loop() in store._clients
    await store.close()
    assert store._clients == {}


@pytest.mark.anyio
async def test_rows_recorded_meanwhile_are_written_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group commit: rows recorded while a write is on go in the next one, all of them."""
    server = session_server()
    store = RedisStore(server.url, server.prefix())
    batches: list[int] = []
    run = store._run

    async def counted(script: object, keys: tuple[str, ...], *args: Any) -> Any:
        if script is RECORD:
            batches.append(len(keys) - 2)  # the id counter and the set of lists, then rows
        return await run(script, keys, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_run", counted)
    try:
        rows = [_entry(n) for n in range(50)]
        await asyncio.gather(*(store.record(row, bound=100) for row in rows))
        found, total = await store.journal("k", None, 100)
        assert total == 50
        assert sorted(e.request_id for _, e in found) == sorted(r.request_id for r in rows)
        assert [rowid for rowid, _ in found] == sorted({rowid for rowid, _ in found}, reverse=True)
        assert sum(batches) == 50
        assert len(batches) < 50  # fewer round trips than rows
    finally:
        await store.close()


def _entry(n: int) -> JournalEntry:
    return JournalEntry(
        "2026-01-01T00:00:00Z", "GET", "/v2/credits", "k", None, "get_credits",
        200, None, 0, 0.1, False, f"r{n}",
    )  # fmt: skip


def test_without_redis_server_a_test_skips_but_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support import redis_server

    monkeypatch.setattr("tests.support.redis_server.shutil.which", lambda _: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        redis_server.require_redis_server()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set but redis-server"):
        redis_server.require_redis_server()
