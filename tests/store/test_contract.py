"""The store protocol's contract: every test runs against every backend (tests/support/stores.py).

A new backend joins BACKENDS and must pass all of it unchanged. Races use real threads, each
with its own event loop and (for a file) its own connection.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from linkup_emulator.clock import SYSTEM_CLOCK, ClockState
from linkup_emulator.models import FaultSpec
from linkup_emulator.store import (
    Change,
    Charge,
    Debit,
    JournalEntry,
    Store,
    StoreConflict,
    Tenant,
)
from tests.support.stores import DURABLE, Backend, backend, tenant

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(state: Backend) -> AsyncIterator[Store]:
    opened = state.connect()
    yield opened
    await opened.close()


def entry(api_key: str | None = "k", account_id: str | None = None, n: int = 0) -> JournalEntry:
    return JournalEntry(
        "2026-01-01T00:00:00Z", "GET", "/v2/credits", api_key, account_id, "get_credits",
        200, None, 0, 0.1, False, f"r{n}",
    )  # fmt: skip


def debit(cost: int = 1, *changes: Change, api_key: str = "k", account: str = "acc_k") -> Debit:
    return Debit(api_key, account, "recommendations", cost, changes)


async def money(store: Store, api_key: str = "k") -> tuple[int | None, int]:
    """The tenant's (balance, consumed); the tenant must exist."""
    found = await store.tenant(api_key)
    assert found is not None, api_key
    return found.balance, found.consumed


def fault(**spec: object) -> FaultSpec:
    return FaultSpec.model_validate({"error": "INTERNAL_ERROR", **spec})


# -- tenants and accounts ------------------------------------------------------------------------


async def test_it_names_itself(store: Store, state: Backend) -> None:
    assert store.name == state.name


async def test_a_created_tenant_reads_back(store: Store) -> None:
    assert await store.create_tenant(tenant("k", 50, rate_limit=7))
    found = await store.tenant("k")
    assert found is not None
    assert (found.api_key, found.balance, found.consumed, found.rate_limit) == ("k", 50, 0, 7)
    account = await store.account("acc_k")
    assert account is not None
    assert (account.api_key, account.account_name, account.status) == ("k", "acc_k", "active")
    assert account.created_at == account.updated_at
    assert await store.tenant("nobody") is None
    assert await store.account("acc_nobody") is None


async def test_api_keys_lists_every_tenant_sorted_and_forgets_reset_ones(store: Store) -> None:
    assert await store.api_keys() == []
    for key in ("zeta", "alpha", "mid"):
        assert await store.create_tenant(tenant(key))
    assert await store.api_keys() == ["alpha", "mid", "zeta"]
    await store.seed_fixtures([tenant("fixture")])
    assert await store.api_keys() == ["alpha", "fixture", "mid", "zeta"]
    assert await store.reset(None)  # runtime tenants go, fixture ones stay
    assert await store.api_keys() == ["fixture"]


async def test_display_credits_is_read_back_only_while_unmetered(store: Store) -> None:
    """What GET /v2/credits shows an unmetered tenant; the balance itself stays None."""
    assert await store.create_tenant(tenant("k", None, display_credits=250))
    assert await store.create_tenant(tenant("plain", None))
    found, plain = await store.tenant("k"), await store.tenant("plain")
    assert found is not None
    assert plain is not None
    assert (found.balance, found.display_credits) == (None, 250)
    assert (plain.balance, plain.display_credits) == (None, None)
    looked = (await store.lookup("k", "acc_k")).tenant
    assert looked is not None
    assert (looked.balance, looked.display_credits) == (None, 250)
    assert await store.patch_tenant("k", {"credits": 40})  # metered again: a real balance
    metered = (await store.lookup("k", None)).tenant
    assert metered is not None
    assert (metered.balance, metered.display_credits) == (40, None)
    assert await store.patch_tenant("k", {"credits": None})
    assert (await store.tenant("k")) == found


async def test_create_refuses_a_taken_key_or_account_and_creates_nothing(store: Store) -> None:
    assert await store.create_tenant(tenant("k"))
    assert not await store.create_tenant(tenant("k", accounts=[{"account_id": "acc_new"}]))
    assert await store.account("acc_new") is None
    assert not await store.create_tenant(tenant("k2", accounts=[{"account_id": "acc_k"}]))
    assert await store.tenant("k2") is None
    twice = [{"account_id": "acc_x"}, {"account_id": "acc_x"}]
    assert not await store.create_tenant(tenant("k3", accounts=twice))
    assert (await store.tenant("k3"), await store.account("acc_x")) == (None, None)


async def test_lookup_reads_the_tenant_the_named_account_faults_and_the_clock(
    store: Store,
) -> None:
    await store.create_tenant(tenant("k"))
    await store.create_tenant(tenant("other"))
    unknown = await store.lookup("nobody", "acc_k")
    assert (unknown.tenant, unknown.clock) == (None, SYSTEM_CLOCK)
    assert unknown.account is not None  # the account is read whoever asks
    found = await store.lookup("k", "acc_other")
    assert found.tenant is not None
    assert (found.tenant.api_key, found.tenant.clock_offset) == ("k", 0.0)
    assert found.account is not None
    assert found.account.api_key == "other"  # whoever owns it
    assert not found.faults
    assert (await store.lookup("k", None)).account is None
    await store.fault_add(fault(match={"api_key": "other"}))
    assert (await store.lookup("k", "acc_k")).faults


async def test_accounts_page_in_listed_order(store: Store) -> None:
    ids = [{"account_id": f"acc_{i}"} for i in (3, 1, 2, 5, 4)]
    await store.create_tenant(tenant("k", accounts=ids))
    page, total = await store.accounts("k", 2, 1)
    assert ([a.account_id for a in page], total) == (["acc_1", "acc_2"], 5)
    assert await store.accounts("k", 10, 5) == ([], 5)
    assert await store.accounts("nobody", 10, 0) == ([], 0)


async def test_usage_lists_every_account_with_its_calls(store: Store) -> None:
    accounts = [{"account_id": "acc_b", "country": "FR"}, {"account_id": "acc_a"}]
    await store.create_tenant(tenant("k", accounts=accounts))
    for cost in (3, 0):
        assert (await store.apply(debit(cost, account="acc_a"))).ok
    rows = [(u.account_id, u.country, u.calls, u.credits) for u in await store.usage("k")]
    assert rows == [("acc_b", "FR", 0, 0), ("acc_a", "US", 2, 3)]


async def test_patch_sets_credits_and_rate_limit(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    assert await store.patch_tenant("k", {"credits": 5})
    assert await store.patch_tenant("k", {"rate_limit": 0, "credits": None})
    found = await store.tenant("k")
    assert found is not None
    assert (found.balance, found.rate_limit) == (None, 0)
    assert not await store.patch_tenant("nobody", {"credits": 1})


async def test_account_status_moves_updated_at(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    assert await store.set_account_status("acc_k", "inactive", "2030-01-01T00:00:00Z")
    account = await store.account("acc_k")
    assert account is not None
    assert (account.status, account.updated_at) == ("inactive", "2030-01-01T00:00:00Z")
    assert account.created_at != account.updated_at
    assert not await store.set_account_status("acc_nobody", "active", "2030-01-01T00:00:00Z")


# -- the debit --------------------------------------------------------------------------------


async def test_a_debit_takes_the_cost_and_records_the_use(store: Store) -> None:
    await store.create_tenant(tenant("k", 10))
    assert await store.apply(debit(4)) == Charge(ok=True)
    assert await money(store, "k") == (6, 4)


async def test_a_refused_debit_reports_the_balance_and_changes_nothing(store: Store) -> None:
    await store.create_tenant(tenant("k", 3))
    change = Change("jane-doe", 0, b"{}")
    assert await store.apply(debit(4, change)) == Charge(ok=False, balance=3)
    assert await money(store, "k") == (3, 0)
    assert [u.calls for u in await store.usage("k")] == [0]
    assert await store.graph("acc_k") == []


async def test_unmetered_is_never_refused_and_zero_cost_still_counts(store: Store) -> None:
    await store.create_tenant(tenant("k", None))
    assert (await store.apply(debit(10**6))).ok
    assert (await store.apply(debit(0))).ok
    assert await money(store, "k") == (None, 10**6)
    assert [(u.calls, u.credits) for u in await store.usage("k")] == [(2, 10**6)]


async def test_a_debit_of_a_gone_tenant_says_so(store: Store) -> None:
    assert await store.apply(debit(1, api_key="nobody")) == Charge(ok=False, gone=True)


# -- graph changes, applied with the debit ------------------------------------------------------


async def test_changes_apply_with_the_debit_in_order(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    first = Change("a", 0, b'{"state":"invited"}')
    assert (await store.apply(debit(1, first, Change("b", 0, b"1")))).ok
    assert (await store.apply(debit(1, Change("a", 1, b'{"state":"connected"}')))).ok
    graph = [(e.member, e.version, e.record) for e in await store.graph("acc_k")]
    assert graph == [("b", 1, b"1"), ("a", 2, b'{"state":"connected"}')]
    seqs = [e.seq for e in await store.graph("acc_k")]
    assert seqs == sorted(set(seqs))  # increasing, never shared
    assert await store.graph("acc_other") == []


async def test_a_stale_change_is_a_conflict_and_nothing_happens(store: Store) -> None:
    await store.create_tenant(tenant("k", 10))
    assert (await store.apply(debit(1, Change("a", 0, b"v1")))).ok
    stale = debit(5, Change("b", 0, b"new"), Change("a", 0, b"v2"))
    assert await store.apply(stale) == Charge(ok=False, conflict=True)
    assert [(e.member, e.record) for e in await store.graph("acc_k")] == [("a", b"v1")]
    assert (await money(store, "k"))[0] == 9  # the stale call debited nothing


async def test_graphs_are_per_account(store: Store) -> None:
    accounts = [{"account_id": "acc_1"}, {"account_id": "acc_2"}]
    await store.create_tenant(tenant("k", accounts=accounts))
    assert (await store.apply(debit(0, Change("a", 0, b"1"), account="acc_1"))).ok
    assert (await store.apply(debit(0, Change("a", 0, b"2"), account="acc_2"))).ok
    assert [e.record for e in await store.graph("acc_2")] == [b"2"]


def test_a_debit_names_each_member_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        debit(1, Change("a", 0, b""), Change("a", 1, b""))


# -- races ------------------------------------------------------------------------------------


def _race(state: Backend, calls: int, one: Debit) -> tuple[Counter[Charge], Store]:
    """`calls` copies of one debit from 16 threads, each thread on its own client and loop."""
    clients = [state.connect() for _ in range(4)]

    def call(i: int) -> Charge:
        return asyncio.run(clients[i % len(clients)].apply(one))

    with ThreadPoolExecutor(16) as pool:
        outcomes = Counter(pool.map(call, range(calls)))
    for client in clients[1:]:
        asyncio.run(client.close())
    return outcomes, clients[0]


async def test_concurrent_debits_neither_overdraw_nor_lose_one(state: Backend) -> None:
    first = state.connect()
    await first.create_tenant(tenant("k", 500))
    outcomes, store = await asyncio.to_thread(_race, state, 400, debit(2))
    assert outcomes == {Charge(ok=True): 250, Charge(ok=False, balance=0): 150}
    assert await money(store, "k") == (0, 500)
    assert [(u.calls, u.credits) for u in await store.usage("k")] == [(250, 500)]
    await first.close()


async def test_concurrent_changes_of_one_member_succeed_once(state: Backend) -> None:
    first = state.connect()
    await first.create_tenant(tenant("k", 100))
    outcomes, store = await asyncio.to_thread(_race, state, 16, debit(1, Change("a", 0, b"x")))
    assert outcomes == {Charge(ok=True): 1, Charge(ok=False, conflict=True): 15}
    assert (await money(store, "k"))[0] == 99
    assert [(e.member, e.version) for e in await store.graph("acc_k")] == [("a", 1)]
    await first.close()


# -- the clock -------------------------------------------------------------------------------


async def test_a_fresh_state_starts_at_the_seeded_clock(store: Store) -> None:
    assert await store.clock() == SYSTEM_CLOCK
    frozen = ClockState(frozen_at=1_777_199_700.0)
    await store.seed_clock(frozen)
    assert await store.clock() == frozen
    assert (await store.lookup("nobody", None)).clock == frozen
    await store.seed_clock(SYSTEM_CLOCK)  # a later seed names what a reset restores...
    assert await store.clock() == frozen  # ...but leaves the time as it is
    assert await store.swap_clock(frozen, ClockState(offset_s=3.5))
    assert await store.reset(None)
    assert await store.clock() == SYSTEM_CLOCK


async def test_the_clock_moves_only_from_the_state_it_was_read_in(store: Store) -> None:
    await store.seed_clock(SYSTEM_CLOCK)
    ahead = ClockState(offset_s=60.0)
    assert await store.swap_clock(SYSTEM_CLOCK, ahead)
    assert not await store.swap_clock(SYSTEM_CLOCK, ClockState(offset_s=1.0))  # moved since
    assert await store.clock() == ahead
    frozen = ClockState(frozen_at=2_000_000_000.25)
    assert await store.swap_clock(ahead, frozen)
    assert await store.clock() == frozen


async def test_a_tenants_offset_moves_alone_and_resets_with_it(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    await store.create_tenant(tenant("other"))
    assert await store.swap_offset("k", 0.0, 61.0)
    assert not await store.swap_offset("k", 0.0, 5.0)
    assert await store.swap_offset("nobody", 0.0, 5.0) is None
    found = await store.tenant("k")
    assert found is not None
    assert found.clock_offset == 61.0
    assert (await store.lookup("other", None)).tenant == await store.tenant("other")
    other = await store.tenant("other")
    assert other is not None
    assert other.clock_offset == 0.0
    assert await store.reset("k")
    assert (await store.tenant("k")) == Tenant("k", 1000, 0, None, 0.0)


# -- rate windows ----------------------------------------------------------------------------


async def test_a_fixed_window_counts_per_key_and_reopens(store: Store) -> None:
    hits = [await store.hit_rate("k", 2, 60, 1000 + t) for t in (0, 10, 20)]
    assert [h.allowed for h in hits] == [True, True, False]
    assert hits[2].retry_after == 40
    assert (await store.hit_rate("other", 2, 60, 1020)).allowed
    assert (await store.hit_rate("k", 2, 60, 1059.5)).retry_after == 1  # rounds up
    assert (await store.hit_rate("k", 2, 60, 1060)).allowed  # a new window


# -- the journal ---------------------------------------------------------------------------


async def test_the_journal_reads_newest_first_filtered(store: Store) -> None:
    for n, (key, account) in enumerate([("k", "a1"), ("o", "a2"), ("k", None), ("k", "a1")]):
        await store.record(entry(key, account, n), bound=100)
    rows, total = await store.journal(None, None, 10)
    assert ([e.request_id for _, e in rows], total) == (["r3", "r2", "r1", "r0"], 4)
    ids = [rowid for rowid, _ in rows]
    assert ids == sorted(ids, reverse=True)
    rows, total = await store.journal("k", "a1", 1)
    assert ([e.request_id for _, e in rows], total) == (["r3"], 2)
    assert (await store.journal(None, "a2", 10))[1] == 1


async def test_the_journal_keeps_the_newest_rows_of_its_bound(store: Store) -> None:
    for n in range(2_000):
        await store.record(entry(n=n), bound=100)
    rows, total = await store.journal(None, None, 10_000)
    assert total == len(rows) == 100
    assert [e.request_id for _, e in rows][:2] == ["r1999", "r1998"]
    assert rows[-1][1].request_id == "r1900"
    assert rows[0][0] == 2_000  # ids count every row ever added


# -- fault rules ------------------------------------------------------------------------------


async def test_fault_rules_list_filter_and_delete(store: Store) -> None:
    one = await store.fault_add(fault(match={"api_key": "k"}, times=3))
    two = await store.fault_add(fault(delay_ms=5))
    assert (one.id, two.id, one.remaining, one.matched) == ("flt_1", "flt_2", 3, 0)
    assert [r.id for r in await store.faults(None)] == ["flt_1", "flt_2"]
    assert [r.id for r in await store.faults("k")] == ["flt_1"]
    for nonsense in ("flt_x", "flt_", "2", "flt_99999999999999999999"):
        assert await store.fault_delete(nonsense, None) == 0
    assert await store.fault_delete("flt_2", None) == 1
    assert await store.fault_delete("flt_2", None) == 0
    await store.fault_add(fault())
    assert await store.fault_delete(None, "k") == 1
    assert [r.id for r in await store.faults(None)] == ["flt_3"]
    assert await store.fault_delete(None, None) == 1


async def test_fault_hits_count_matches_and_retire_spent_rules(store: Store) -> None:
    await store.fault_add(fault(match={"api_key": "k", "action": "recommendations"}, times=2))
    await store.fault_add(fault(match={"account_id": "acc_k"}))
    await store.fault_add(fault(match={"api_key": "other"}))
    first = await store.fault_hits("k", "acc_k", "recommendations")
    assert [(h.rule.id, h.k, h.rule.remaining) for h in first] == [
        ("flt_1", 1, 1),
        ("flt_2", 1, None),
    ]
    assert [h.rule.id for h in await store.fault_hits("k", None, "recommendations")] == ["flt_1"]
    assert [r.id for r in await store.faults(None)] == ["flt_2", "flt_3"]  # flt_1 is spent
    hits = await store.fault_hits("k", "acc_k", "get_credits")
    assert [(h.rule.id, h.k) for h in hits] == [("flt_2", 2)]


# -- reset and fixtures --------------------------------------------------------------------------


async def _dirty(store: Store, key: str) -> None:
    """Use of every kind by `key`: a debit with a change, a window, a row, a rule, a status."""
    assert (await store.apply(debit(5, Change("m", 0, b"x"), api_key=key, account=f"acc_{key}"))).ok
    await store.hit_rate(key, 1, 60, 0)
    await store.record(entry(key), bound=100)
    await store.fault_add(fault(match={"api_key": key}))
    await store.set_account_status(f"acc_{key}", "inactive", "2030-01-01T00:00:00Z")


async def _clean(store: Store, key: str, credits: int) -> bool:
    found = await store.tenant(key)
    account = await store.account(f"acc_{key}")
    return (
        found is not None
        and (found.balance, found.consumed) == (credits, 0)
        and account is not None
        and account.status == "active"
        and await store.graph(f"acc_{key}") == []
        and (await store.hit_rate(key, 1, 60, 1)).allowed
        and (await store.journal(key, None, 10))[1] == 0
        and await store.faults(key) == []
        and [u.calls for u in await store.usage(key)] == [0]
    )


async def test_a_full_reset_goes_back_to_the_fixtures(store: Store) -> None:
    await store.seed_fixtures([tenant("fix", 100)])
    await store.create_tenant(tenant("runtime", 100))
    await _dirty(store, "fix")
    await _dirty(store, "runtime")
    assert await store.reset(None)
    assert await _clean(store, "fix", 100)
    assert await store.tenant("runtime") is None
    assert await store.account("acc_runtime") is None
    assert (await store.fault_add(fault())).id == "flt_1"  # ids start again


async def test_a_tenant_reset_leaves_the_others(store: Store) -> None:
    await store.seed_fixtures([tenant("fix", 100)])
    await store.create_tenant(tenant("runtime", 70))
    await _dirty(store, "fix")
    await _dirty(store, "runtime")
    assert await store.reset("runtime")
    assert await _clean(store, "runtime", 70)  # as it was created: still there
    assert (await money(store, "fix"))[0] == 95
    assert len(await store.graph("acc_fix")) == 1
    assert (await store.journal("fix", None, 10))[1] == 1
    assert len(await store.faults("fix")) == 1
    assert not await store.reset("nobody")
    assert await store.reset(None)  # a runtime tenant reset alone is still runtime
    assert await store.tenant("runtime") is None


async def test_seeding_keeps_state_and_adds_what_is_missing(store: Store) -> None:
    await store.seed_fixtures([tenant("fix", 100)])
    await _dirty(store, "fix")
    grown = tenant("fix", 100, accounts=[{"account_id": "acc_fix"}, {"account_id": "acc_new"}])
    await store.seed_fixtures([grown, tenant("second", 5)])
    assert (await money(store, "fix"))[0] == 95  # kept
    assert (await money(store, "second"))[0] == 5
    assert [a.account_id for a in (await store.accounts("fix", 10, 0))[0]] == ["acc_fix", "acc_new"]


async def test_a_fixture_dropped_from_the_fixtures_lasts_until_a_full_reset(store: Store) -> None:
    await store.seed_fixtures([tenant("gone", 100), tenant("kept", 100)])
    await store.seed_fixtures([tenant("kept", 100)])
    assert await store.tenant("gone") is not None
    assert await store.reset(None)
    assert await store.tenant("gone") is None
    assert await store.tenant("kept") is not None


async def test_seeding_an_account_of_another_key_changes_nothing(store: Store) -> None:
    await store.create_tenant(tenant("owner", accounts=[{"account_id": "acc_x"}]))
    with pytest.raises(StoreConflict, match="acc_x"):
        await store.seed_fixtures(
            [tenant("new", 1), tenant("thief", accounts=[{"account_id": "acc_x"}])]
        )
    assert await store.tenant("new") is None
    assert await store.tenant("thief") is None


# -- durability ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DURABLE)
async def test_a_durable_state_outlives_its_clients(name: str, tmp_path: Path) -> None:
    state = backend(name, tmp_path)
    store = state.connect()
    await store.seed_fixtures([tenant("k", 10)])
    await store.seed_clock(ClockState(frozen_at=42.0))
    await store.swap_offset("k", 0.0, 7.0)
    await _dirty(store, "k")
    await store.close()
    reopened = state.connect()
    assert (await money(reopened, "k"))[0] == 5
    assert [e.member for e in await reopened.graph("acc_k")] == ["m"]
    assert (await reopened.journal("k", None, 10))[1] == 1
    assert len(await reopened.faults("k")) == 1
    assert not (await reopened.hit_rate("k", 1, 60, 1)).allowed
    assert await reopened.clock() == ClockState(frozen_at=42.0)
    assert (await reopened.tenant("k")).clock_offset == 7.0  # type: ignore[union-attr]
    await reopened.close()


# -- a tenant's lives (issue 17: a call never touches state created after it began) ------------


async def test_a_call_of_a_reset_tenants_last_life_debits_nothing(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    before = (await store.lookup("k", None)).tenant
    assert before is not None
    assert await store.reset("k")
    after = await store.tenant("k")
    assert after is not None
    assert after.generation != before.generation
    stale = Debit("k", "acc_k", "recommendations", 10, generation=before.generation)
    assert (await store.apply(stale)).gone
    assert await money(store) == (1000, 0)
    fresh = Debit("k", "acc_k", "recommendations", 10, generation=after.generation)
    assert (await store.apply(fresh)).ok
    assert await money(store) == (990, 10)


async def test_a_full_reset_gives_every_tenant_a_new_life(store: Store) -> None:
    await store.seed_fixtures([tenant("f")])
    before = await store.tenant("f")
    assert await store.reset(None)
    after = await store.tenant("f")
    assert before is not None
    assert after is not None
    assert after.generation != before.generation


async def test_the_last_lifes_calls_leave_the_new_rate_window_alone(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    old = await store.tenant("k")
    assert old is not None
    assert await store.reset("k")
    for _ in range(3):  # in flight across the reset
        assert (await store.hit_rate("k", 1, 60.0, 1000.0, generation=old.generation)).allowed
    new = await store.tenant("k")
    assert new is not None
    assert (await store.hit_rate("k", 1, 60.0, 1000.0, generation=new.generation)).allowed
    assert not (await store.hit_rate("k", 1, 60.0, 1001.0, generation=new.generation)).allowed


async def test_a_window_that_starts_after_now_starts_again(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    assert (await store.hit_rate("k", 1, 60.0, 5000.0)).allowed
    stepped_back = await store.hit_rate("k", 1, 60.0, 5000.0 - 3600)  # the clock went back
    assert stepped_back.allowed
    assert stepped_back.retry_after <= 60


async def test_a_journal_row_of_the_last_life_is_not_written(store: Store) -> None:
    await store.create_tenant(tenant("k"))
    old = await store.tenant("k")
    assert old is not None
    assert await store.reset("k")
    await store.record(entry("k", n=1), 100, generation=old.generation)
    await store.record(entry(None, n=2), 100, generation=None)
    new = await store.tenant("k")
    assert new is not None
    await store.record(entry("k", n=3), 100, generation=new.generation)
    rows, total = await store.journal(None, None, 10)
    assert [e.request_id for _, e in rows] == ["r3", "r2"]
    assert total == 2


async def test_a_healthy_store_reports_no_problem(store: Store) -> None:
    assert await store.problem() is None
