"""The event pipeline over a real store (webhooks/events.py): the sweep's window and its
compare-and-swap against other sweepers, the monitoring cursor, the periodic tick."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from linkup_emulator.network.graph import GraphEvent
from linkup_emulator.store import Store
from linkup_emulator.store.hooks import Webhook
from linkup_emulator.store.memory import MemoryStore
from linkup_emulator.webhooks.events import (
    DAY_S,
    LOOKBACK_S,
    Pipeline,
    monitor_cursor,
    sweep_cursor,
)
from tests.support.stores import tenant

pytestmark = pytest.mark.anyio
NOW = 1_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _store() -> MemoryStore:
    store = MemoryStore()
    await store.create_tenant(tenant("k"))
    hook = Webhook("w1", "k", "acc_k", None, ("all",), None, False, True, NOW - 10, NOW - 10)
    assert await store.hook_save(hook, create=True)
    return store


def _pipeline(store: Store, source: object = None, now: float = NOW) -> Pipeline:
    async def clock(api_key: str) -> float | None:
        return now if await store.tenant(api_key) is not None else None

    return Pipeline(store, "seed", clock, lambda: 0.0, source)  # type: ignore[arg-type]


async def test_a_sweep_starts_its_window_then_reads_each_once_with_a_lookback() -> None:
    store = await _store()
    asked: list[tuple[float, float]] = []

    async def source(account_id: str, start: float, end: float) -> Sequence[GraphEvent]:
        asked.append((start, end))
        return [GraphEvent("accepted_invitation", NOW - 5, "a:1", ())]

    pipeline = _pipeline(store, source)
    account = await store.account("acc_k")
    assert account is not None
    hooks = await store.hooks("k")
    assert await pipeline.sweep(account, NOW - 20, hooks) == 0  # no cursor: it starts here
    assert await store.cursor("k", sweep_cursor("acc_k")) == NOW - 20
    assert await pipeline.sweep(account, NOW, hooks) == 1
    assert await pipeline.sweep(account, NOW, hooks) == 0  # the same event: kept once
    assert asked == [(NOW - 20 - LOOKBACK_S, NOW), (NOW - LOOKBACK_S, NOW)]
    assert await store.cursor("k", sweep_cursor("acc_k")) == NOW


async def test_a_sweep_whose_cursor_another_moved_reads_again_and_gives_up_in_a_storm() -> None:
    store = await _store()
    account = await store.account("acc_k")
    assert account is not None
    await store.swap_cursor("k", sweep_cursor("acc_k"), None, NOW - 100)
    moves = 0

    async def racing(account_id: str, start: float, end: float) -> Sequence[GraphEvent]:
        nonlocal moves  # another process's sweep lands meanwhile, each time
        moves += 1
        await store.swap_cursor(
            "k", sweep_cursor("acc_k"), start + LOOKBACK_S, start + LOOKBACK_S + 1
        )
        return []

    assert await _pipeline(store, racing).sweep(account, NOW, await store.hooks("k")) == 0
    assert moves == 8  # SWAPS tries, then the other sweepers did the work
    # Without a graph source the window still moves.
    silent = await _store()
    found = await silent.account("acc_k")
    assert found is not None
    await silent.swap_cursor("k", sweep_cursor("acc_k"), None, NOW - 100)
    assert await _pipeline(silent).sweep(found, NOW, await silent.hooks("k")) == 0
    assert await silent.cursor("k", sweep_cursor("acc_k")) == NOW


async def test_monitoring_starts_charges_whole_days_and_ends() -> None:
    store = await _store()
    name = monitor_cursor("acc_k")
    pipeline = _pipeline(store)
    await pipeline.monitor("k", "acc_k", False, NOW)  # nothing active, nothing running
    assert await store.cursor("k", name) is None
    await pipeline.monitor("k", "acc_k", True, NOW)
    await pipeline.monitor("k", "acc_k", True, NOW + DAY_S - 1)  # not a whole day yet
    assert await store.cursor("k", name) == NOW
    await pipeline.monitor("k", "acc_k", True, NOW + 2.5 * DAY_S)
    assert await store.cursor("k", name) == NOW + 2 * DAY_S
    await pipeline.monitor("k", "acc_k", False, NOW + 3.9 * DAY_S)  # the last day under way
    assert await store.cursor("k", name) is None
    found = await store.tenant("k")
    assert found is not None
    assert found.consumed == 30


async def test_the_tick_skips_a_tenant_gone_and_an_account_it_does_not_own() -> None:
    store = await _store()
    await store.create_tenant(tenant("other"))
    # A webhook naming an account of another key (reset away and taken since): no charge.
    stray = Webhook("w2", "other", "acc_k", None, ("all",), None, False, True, NOW, NOW)
    assert await store.hook_save(stray, create=True)
    pipeline = _pipeline(store)
    await pipeline.tick()
    assert await store.cursor("other", monitor_cursor("acc_k")) is None
    assert await store.cursor("k", monitor_cursor("acc_k")) == NOW

    async def gone(api_key: str) -> float | None:
        return None

    await Pipeline(store, "seed", gone, lambda: 0.0).tick()  # no tenant's time: nothing
    await pipeline.account_changed("acc_nobody")
    await pipeline.account_changed("acc_other")  # no webhook there
    assert await store.cursor("other", sweep_cursor("acc_other")) is None
