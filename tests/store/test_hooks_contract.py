"""The webhooks' store contract (store/hooks.py), on every backend: subscriptions, events kept
once, delivery leases claimed by one caller, cursors swapped and charged once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from linkup_emulator.store import Store
from linkup_emulator.store.hooks import Claim, HookEvent, Webhook
from tests.support.stores import Backend, tenant

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(state: Backend) -> AsyncIterator[Store]:
    opened = state.connect()
    await opened.create_tenant(tenant("k"))
    await opened.create_tenant(tenant("other"))
    yield opened
    await opened.close()


def hook(webhook_id: str = "w1", api_key: str = "k", url: str | None = "http://h/") -> Webhook:
    return Webhook(webhook_id, api_key, f"acc_{api_key}", url, ("all",), None, True, True, 1.0, 1.0)


def event(event_id: str, webhook_id: str = "w1", created: float = 100.0) -> HookEvent:
    return HookEvent(webhook_id, event_id, created, b'{"id":"' + event_id.encode() + b'"}')


async def test_a_webhook_is_created_once_replaced_listed_and_dropped(store: Store) -> None:
    first = hook()
    assert await store.hook_save(first, create=True)
    assert not await store.hook_save(replace(first, url=None), create=True)  # the id is taken
    assert not await store.hook_save(hook("w9"), create=False)  # nothing to replace
    assert not await store.hook_save(hook("w2", api_key="nobody"), create=True)
    assert await store.hook_save(hook("w2"), create=True)
    assert await store.hook_save(hook("w3", api_key="other"), create=True)
    stopped = replace(first, is_active=False, secret="s", rotations=1)
    assert await store.hook_save(stopped, create=False)
    assert await store.hooks("k") == [stopped, hook("w2")]
    assert sorted(h.webhook_id for h in await store.hooks(None)) == ["w1", "w2", "w3"]
    assert not await store.hook_drop("other", "w1")  # not its own
    assert await store.hook_drop("k", "w1")
    assert not await store.hook_drop("k", "w1")
    assert await store.hooks("k") == [hook("w2")]


async def test_an_event_is_kept_once_in_order_and_purged_by_age(store: Store) -> None:
    await store.hook_save(hook(), create=True)
    added = await store.hook_emit("k", [event("e1"), event("e2", created=200.0)], None)
    assert [(e.event_id, e.body) for e in added] == [("e1", b'{"id":"e1"}'), ("e2", b'{"id":"e2"}')]
    assert added[0].seq < added[1].seq
    again = await store.hook_emit("k", [event("e1"), event("e3"), event("x", "w-gone")], None)
    assert [e.event_id for e in again] == ["e3"]
    assert await store.hook_emit("other", [event("e4")], None) == []  # not its webhook
    kept = await store.hook_events("k", "w1")
    assert [e.event_id for e in kept] == ["e1", "e2", "e3"]
    assert kept[1] == added[1]
    assert await store.hook_event("k", "w1", "e2") == added[1]
    assert await store.hook_event("other", "w1", "e2") is None
    assert await store.hook_events("other", "w1") == []
    assert await store.hook_purge("k", 150.0) == 2
    assert [e.event_id for e in await store.hook_events("k", "w1")] == ["e2"]
    assert await store.hook_event("k", "w1", "e1") is None


async def test_a_delivery_is_leased_to_one_caller_until_settled(store: Store) -> None:
    await store.hook_save(hook(), create=True)
    await store.hook_emit("k", [event("e1"), event("e2")], 10.0)
    assert await store.claim(9.0, 30.0, 10) == []  # not due yet
    claims = await store.claim(10.0, 30.0, 1)
    assert [(c.api_key, c.webhook_id, c.attempts) for c in claims] == [("k", "w1", 0)]
    rest = await store.claim(11.0, 1000.0, 10)
    assert {c.event_id for c in claims + rest} == {"e1", "e2"}
    assert await store.claim(12.0, 30.0, 10) == []  # both leased
    one, two = claims[0], rest[0]
    assert await store.settle(one, 50.0)  # failed: due again at 50, one attempt more
    assert not await store.settle(one, None)  # its lease ended with the settle
    assert await store.claim(49.0, 30.0, 10) == []
    again = await store.claim(50.0, 30.0, 10)
    assert [(c.event_id, c.attempts) for c in again] == [(one.event_id, 1)]
    assert await store.settle(again[0], None)
    # An unsettled lease lapses: the delivery is due again, and the old claim is void.
    assert await store.claim(1010.0, 30.0, 10) == []
    lapsed = await store.claim(1011.0, 30.0, 10)
    assert [c.event_id for c in lapsed] == [two.event_id]
    assert not await store.settle(two, None)
    assert await store.settle(lapsed[0], None)
    assert await store.claim(1e12, 30.0, 10) == []


async def test_hosted_events_queue_no_delivery(store: Store) -> None:
    await store.hook_save(hook(url=None), create=True)
    await store.hook_emit("k", [event("e1")], None)
    assert await store.claim(1e12, 30.0, 10) == []


async def test_a_cursor_swaps_only_from_what_it_was_and_charges_with_it(store: Store) -> None:
    assert await store.cursor("k", "c") is None
    assert not await store.swap_cursor("k", "c", 1.0, 2.0)
    assert await store.swap_cursor("k", "c", None, 1.5)
    assert await store.cursor("k", "c") == 1.5
    assert await store.cursor("other", "c") is None
    assert not await store.swap_cursor("nobody", "c", None, 1.0)
    assert await store.swap_cursor("k", "c", 1.5, 86401.5, ("acc_k", "webhook_monitoring", 10))
    assert await store.cursor("k", "c") == 86401.5
    found = await store.tenant("k")
    assert found is not None
    assert (found.balance, found.consumed) == (990, 10)
    assert [(u.calls, u.credits) for u in await store.usage("k")] == [(1, 10)]
    await store.patch_tenant("k", {"credits": 4})
    assert await store.swap_cursor("k", "c", 86401.5, None, ("acc_k", "webhook_monitoring", 10))
    found = await store.tenant("k")
    assert found is not None
    assert (found.balance, found.consumed) == (0, 14)  # never below zero
    assert await store.cursor("k", "c") is None


async def test_a_reset_takes_webhooks_events_and_cursors(store: Store) -> None:
    for key in ("k", "other"):
        await store.hook_save(hook(f"w_{key}", key), create=True)
        await store.hook_emit(key, [event("e1", f"w_{key}")], 10.0)
        await store.swap_cursor(key, "c", None, 1.0)
    assert await store.reset("k")
    for found in await store.claim(1e12, 30.0, 10):  # Redis leaves k's; the sender ends them
        kept = await store.hook_event(found.api_key, found.webhook_id, found.event_id)
        assert (kept is not None) == (found.api_key == "other")
    assert (await store.hooks("k"), await store.cursor("k", "c")) == ([], None)
    assert await store.hook_events("k", "w_k") == []
    assert [h.webhook_id for h in await store.hooks(None)] == ["w_other"]
    assert await store.cursor("other", "c") == 1.0
    assert await store.reset(None)
    assert (await store.hooks(None), await store.cursor("other", "c")) == ([], None)
    assert await store.claim(1e13, 30.0, 10) == []


# -- races ------------------------------------------------------------------------------------


def _threads(state: Backend, calls: int, work: object) -> list[object]:
    clients = [state.connect() for _ in range(4)]

    def call(i: int) -> object:
        return asyncio.run(work(clients[i % len(clients)]))  # type: ignore[operator]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(call, range(calls)))
    for client in clients:
        asyncio.run(client.close())
    return outcomes


async def test_concurrent_claims_lease_each_delivery_once(state: Backend) -> None:
    first = state.connect()
    await first.create_tenant(tenant("k"))
    await first.hook_save(hook(), create=True)
    await first.hook_emit("k", [event(f"e{i}") for i in range(40)], 1.0)

    async def grab(store: Store) -> list[Claim]:
        return await store.claim(2.0, 60.0, 3)

    outcomes = await asyncio.to_thread(_threads, state, 32, grab)
    claimed = Counter(c.event_id for got in outcomes for c in got)  # type: ignore[attr-defined]
    assert claimed == Counter({f"e{i}": 1 for i in range(40)})
    await first.close()


async def test_concurrent_cursor_swaps_charge_once(state: Backend) -> None:
    first = state.connect()
    await first.create_tenant(tenant("k", 1000))
    await first.swap_cursor("k", "m", None, 0.0)

    async def swap(store: Store) -> bool:
        return await store.swap_cursor("k", "m", 0.0, 86400.0, ("acc_k", "webhook_monitoring", 10))

    outcomes = await asyncio.to_thread(_threads, state, 24, swap)
    assert outcomes.count(True) == 1
    found = await first.tenant("k")
    assert found is not None
    assert (found.balance, found.consumed) == (990, 10)
    await first.close()
