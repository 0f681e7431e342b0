"""The in-memory store: plain Python dicts under one lock, fresh at every start (CI's default).

Each method takes the lock once and never awaits while holding it, so a method is atomic for
every task and thread of the process. Nothing is shared with other processes: a server with
several workers needs a file (or networked) store, and Settings refuses the combination.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections import deque
from dataclasses import dataclass, field, replace

from linkup_emulator.clock import SYSTEM_CLOCK, ClockState
from linkup_emulator.models import AccountSpec, FaultSpec, TenantSpec
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
    Tenant,
    Usage,
    born_at,
    fault_id,
    fault_number,
    matches,
    new_account,
)
from linkup_emulator.store.memory_hooks import MemoryHooks


@dataclass(slots=True)
class _Tenant:
    spec: TenantSpec
    runtime: bool  # created through the control plane (gone at a full reset), not a fixture
    balance: int | None
    rate_limit: int | None
    born: float
    consumed: int = 0
    clock_offset: float = 0.0
    accounts: list[str] = field(default_factory=list)  # account ids, in listed order
    generation: int = 0

    def public(self) -> Tenant:
        spec = self.spec
        # display_credits only while unmetered, the one time GET /v2/credits shows it
        shown = spec.display_credits if self.balance is None else None
        return Tenant(
            spec.api_key,
            self.balance,
            self.consumed,
            self.rate_limit,
            self.clock_offset,
            shown,
            self.generation,
        )


@dataclass(slots=True)
class _Rule:
    spec: FaultSpec
    matched: int
    remaining: int | None


@dataclass(slots=True)
class _Graph:
    members: dict[str, GraphEntry] = field(default_factory=dict)
    log: list[GraphEntry] = field(default_factory=list)  # every change, in seq order
    seq: int = 0


class MemoryStore(MemoryHooks):
    """State of one process, for as long as it runs."""

    name = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}
        self._accounts: dict[str, Account] = {}
        self._usage: dict[tuple[str, str, str], list[int]] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self._journal: deque[tuple[int, JournalEntry]] = deque()
        self._journal_id = 0  # ids keep growing across resets, as a file's do
        self._faults: dict[int, _Rule] = {}
        # Rule numbers by their match's api_key (None: any key), oldest first; rebuilt after
        # a change (rare: calls only read it, but for a `times` rule's last match).
        self._fault_index: dict[str | None, list[int]] | None = None
        self._fault_id = 0
        self._graphs: dict[str, _Graph] = {}
        self._clock = self._initial_clock = SYSTEM_CLOCK
        self._clock_seeded = False
        self._hooks_reset(None)
        self._epochs = itertools.count(1)
        self._generation = 0  # the last tenant generation given (never reused)

    # -- tenants -----------------------------------------------------------------------------

    def _insert(self, spec: TenantSpec, runtime: bool, born: float) -> None:
        self._generation += 1
        tenant = _Tenant(
            spec, runtime, spec.credits, spec.rate_limit, born, generation=self._generation
        )
        self._tenants[spec.api_key] = tenant
        for account in spec.accounts:
            self._add_account(tenant, account)

    def _add_account(self, tenant: _Tenant, spec: AccountSpec) -> None:
        epoch = str(next(self._epochs))
        self._accounts[spec.account_id] = new_account(tenant.spec.api_key, spec, tenant.born, epoch)
        tenant.accounts.append(spec.account_id)

    def _drop(self, api_key: str) -> None:
        """The tenant and everything that is its own."""
        tenant = self._tenants.pop(api_key)
        for account_id in tenant.accounts:
            del self._accounts[account_id]
            self._graphs.pop(account_id, None)
        self._usage = {k: v for k, v in self._usage.items() if k[0] != api_key}
        self._windows.pop(api_key, None)
        self._journal = deque(row for row in self._journal if row[1].api_key != api_key)
        self._faults = {n: r for n, r in self._faults.items() if r.spec.match.api_key != api_key}
        self._hooks_reset(api_key)
        self._fault_index = None

    async def seed_fixtures(self, tenants: list[TenantSpec], born: float | None = None) -> None:
        with self._lock:
            now = born_at(self._clock, born)
            for spec in tenants:
                for account in spec.accounts:
                    owner = self._accounts.get(account.account_id)
                    if owner is not None and owner.api_key != spec.api_key:
                        raise StoreConflict(
                            f"account_id '{account.account_id}' of fixture tenant"
                            f" '{spec.api_key}' belongs to another key in the state"
                        )
            for tenant in self._tenants.values():
                tenant.runtime = True
            for spec in tenants:
                found = self._tenants.get(spec.api_key)
                if found is None:
                    self._insert(spec, runtime=False, born=now)
                    continue
                found.spec, found.runtime = spec, False
                for account in spec.accounts:
                    if account.account_id not in self._accounts:
                        self._add_account(found, account)

    async def create_tenant(self, spec: TenantSpec, born: float | None = None) -> bool:
        ids = [account.account_id for account in spec.accounts]
        with self._lock:
            if spec.api_key in self._tenants or len(set(ids)) < len(ids):
                return False
            if any(account_id in self._accounts for account_id in ids):
                return False
            self._insert(spec, runtime=True, born=born_at(self._clock, born))
            return True

    async def tenant(self, api_key: str) -> Tenant | None:
        with self._lock:
            found = self._tenants.get(api_key)
            return found.public() if found else None

    async def api_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._tenants)

    async def lookup(self, api_key: str, account_id: str | None) -> Lookup:
        with self._lock:
            found = self._tenants.get(api_key)
            account = self._accounts.get(account_id) if account_id is not None else None
            if account is not None and account_id in self._graphs:
                account = replace(account, graph_seq=self._graphs[account_id].seq)
            tenant = found.public() if found else None
            return Lookup(tenant, account, bool(self._faults), self._clock)

    async def account(self, account_id: str) -> Account | None:
        with self._lock:
            account = self._accounts.get(account_id)
            if account is not None and account_id in self._graphs:
                account = replace(account, graph_seq=self._graphs[account_id].seq)
            return account

    async def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]:
        with self._lock:
            found = self._tenants.get(api_key)
            ids = found.accounts if found else []
            return [self._accounts[i] for i in ids[offset : offset + limit]], len(ids)

    async def usage(self, api_key: str) -> list[Usage]:
        with self._lock:
            found = self._tenants.get(api_key)
            totals: dict[str, list[int]] = {}
            for (key, account_id, _), (calls, credits) in self._usage.items():
                if key == api_key:
                    total = totals.setdefault(account_id, [0, 0])
                    total[0] += calls
                    total[1] += credits
            rows = []
            for account_id in found.accounts if found else []:
                account = self._accounts[account_id]
                calls, credits = totals.get(account_id, (0, 0))
                rows.append(Usage(account_id, account.status, account.country, calls, credits))
            return rows

    async def seed_clock(self, initial: ClockState) -> None:
        with self._lock:
            if not self._clock_seeded:  # a fresh store starts at the seeded clock
                self._clock, self._clock_seeded = initial, True
            self._initial_clock = initial

    async def clock(self) -> ClockState:
        with self._lock:
            return self._clock

    async def swap_clock(self, expected: ClockState, new: ClockState) -> bool:
        with self._lock:
            if self._clock != expected:
                return False
            self._clock = new
            return True

    async def swap_offset(self, api_key: str, expected: float, new: float) -> bool | None:
        with self._lock:
            found = self._tenants.get(api_key)
            if found is None:
                return None
            if found.clock_offset != expected:
                return False
            found.clock_offset = new
            return True

    async def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool:
        with self._lock:
            found = self._tenants.get(api_key)
            if found is None:
                return False
            if "credits" in changes:
                found.balance = changes["credits"]
            if "rate_limit" in changes:
                found.rate_limit = changes["rate_limit"]
            return True

    async def set_account_status(self, account_id: str, status: str, now: str) -> bool:
        with self._lock:
            found = self._accounts.get(account_id)
            if found is None:
                return False
            self._accounts[account_id] = replace(found, status=status, updated_at=now)
            return True

    # -- credits, graph and rate ---------------------------------------------------------------

    async def apply(self, debit: Debit) -> Charge:
        with self._lock:
            tenant = self._tenants.get(debit.api_key)
            if tenant is None or not _same_life(tenant, debit.generation):
                return Charge(ok=False, gone=True)
            if debit.epoch is not None:
                account = self._accounts.get(debit.account_id)
                if account is None or account.epoch != debit.epoch:
                    return Charge(ok=False, gone=True)
            graph = self._graphs.get(debit.account_id) or _Graph()
            for change in debit.changes:
                current = graph.members.get(change.member)
                if (current.version if current else 0) != change.expected:
                    return Charge(ok=False, conflict=True)
            if tenant.balance is not None:
                if tenant.balance < debit.cost:
                    return Charge(ok=False, balance=tenant.balance)
                tenant.balance -= debit.cost
            tenant.consumed += debit.cost
            if debit.usage:
                key = (debit.api_key, debit.account_id, debit.action)
                use = self._usage.setdefault(key, [0, 0])
                use[0] += 1
                use[1] += debit.cost
            if debit.changes:
                self._graphs[debit.account_id] = graph
                for change in debit.changes:
                    graph.seq += 1
                    entry = GraphEntry(change.member, change.expected + 1, graph.seq, change.record)
                    graph.members[change.member] = entry
                    graph.log.append(entry)
            return Charge(ok=True)

    async def graph(self, account_id: str) -> list[GraphEntry]:
        with self._lock:
            found = self._graphs.get(account_id)
            return sorted(found.members.values(), key=lambda e: e.seq) if found else []

    async def graph_since(self, account_id: str, after: int) -> list[GraphEntry]:
        with self._lock:
            found = self._graphs.get(account_id)
            if found is None or found.seq <= after:
                return []
            log, members = found.log, found.members
            start = bisect.bisect_right(log, after, key=lambda e: e.seq)
            return [e for e in log[start:] if members[e.member] is e]

    async def hit_rate(
        self, api_key: str, limit: int, window_s: float, now: float, generation: int | None = None
    ) -> RateHit:
        with self._lock:
            tenant = self._tenants.get(api_key)
            if generation is not None and (tenant is None or tenant.generation != generation):
                return RateHit(allowed=True, retry_after=1)  # a call from the tenant's last life
            start, count = self._windows.get(api_key, (now, 0))
            if now >= start + window_s or now < start:
                start, count = now, 0
            count += 1
            self._windows[api_key] = (start, count)
        return RateHit(
            allowed=count <= limit, retry_after=max(1, math.ceil(start + window_s - now))
        )

    # -- journal ------------------------------------------------------------------------------

    async def record(self, entry: JournalEntry, bound: int, generation: int | None = None) -> None:
        with self._lock:
            if generation is not None and entry.api_key is not None:
                tenant = self._tenants.get(entry.api_key)
                if tenant is None or tenant.generation != generation:
                    return  # its tenant was reset after the call read it
            self._journal_id += 1
            self._journal.append((self._journal_id, entry))
            while len(self._journal) > bound:
                self._journal.popleft()

    async def journal(
        self, api_key: str | None, account_id: str | None, limit: int
    ) -> tuple[list[tuple[int, JournalEntry]], int]:
        with self._lock:
            rows = [
                row
                for row in reversed(self._journal)
                if (api_key is None or row[1].api_key == api_key)
                and (account_id is None or row[1].account_id == account_id)
            ]
        return rows[:limit], len(rows)

    # -- faults -------------------------------------------------------------------------------

    async def fault_add(self, spec: FaultSpec) -> FaultRule:
        with self._lock:
            self._fault_id += 1
            rule = self._faults[self._fault_id] = _Rule(spec, 0, spec.times)
            self._fault_index = None
            return FaultRule(fault_id(self._fault_id), spec, rule.matched, rule.remaining)

    async def faults(self, api_key: str | None) -> list[FaultRule]:
        with self._lock:
            return [
                FaultRule(fault_id(number), rule.spec, rule.matched, rule.remaining)
                for number, rule in sorted(self._faults.items())
                if api_key is None or rule.spec.match.api_key == api_key
            ]

    async def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        with self._lock:
            if fault_id is None:
                doomed = [
                    number
                    for number, rule in self._faults.items()
                    if api_key is None or rule.spec.match.api_key == api_key
                ]
            else:
                number = fault_number(fault_id)
                doomed = [number] if number in self._faults else []
            for number in doomed:
                del self._faults[number]
            self._fault_index = None
            return len(doomed)

    def _rules_of(self, api_key: str) -> list[int]:
        """The numbers of the rules that may match this key, oldest first."""
        index = self._fault_index
        if index is None:
            index = self._fault_index = {}
            for number in sorted(self._faults):
                index.setdefault(self._faults[number].spec.match.api_key, []).append(number)
        return sorted([*index.get(api_key, ()), *index.get(None, ())])

    async def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
        hits = []
        with self._lock:
            for number in self._rules_of(api_key):
                rule = self._faults.get(number)
                if rule is None or not matches(rule.spec, api_key, account_id, action):
                    continue
                rule.matched += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        del self._faults[number]
                        self._fault_index = None
                public = FaultRule(fault_id(number), rule.spec, rule.matched, rule.remaining)
                hits.append(FaultHit(public, rule.matched))
        return hits

    # -- reset --------------------------------------------------------------------------------

    async def reset(self, api_key: str | None) -> bool:
        with self._lock:
            if api_key is None:
                fixtures = [(t.spec, t.born) for t in self._tenants.values() if not t.runtime]
                self._tenants.clear()
                self._accounts.clear()
                self._usage.clear()
                self._windows.clear()
                self._journal.clear()
                self._faults.clear()
                self._fault_index = None
                self._fault_id = 0
                self._graphs.clear()
                self._hooks_reset(None)
                self._clock = self._initial_clock
                for spec, born in fixtures:
                    self._insert(spec, runtime=False, born=born)
                return True
            found = self._tenants.get(api_key)
            if found is None:
                return False
            self._drop(api_key)
            self._insert(found.spec, found.runtime, found.born)
            return True

    async def problem(self) -> str | None:
        return None  # memory takes every write

    async def close(self) -> None:
        """Nothing to release: the state goes with the process."""


def _same_life(tenant: _Tenant, generation: int | None) -> bool:
    return generation is None or tenant.generation == generation
