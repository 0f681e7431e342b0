"""The store protocol: every piece of mutable emulator state, behind one async interface.

Backends (memory.py, sqlite.py; a networked one later) implement it and pass the same contract
suite (tests/store/test_contract.py). Nothing here knows how a backend keeps its data: a method
either happens whole or not at all, across threads, processes and restarts as far as the
backend's medium allows.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from linkup_emulator.clock import ClockState
from linkup_emulator.models import DEFAULT_NETWORK, AccountSpec, FaultSpec, Network, TenantSpec
from linkup_emulator.store.hooks import HookStore


@dataclass(frozen=True, slots=True)
class Tenant:
    api_key: str
    balance: int | None  # None: unmetered
    consumed: int
    rate_limit: int | None  # None: the server's default
    clock_offset: float = 0.0  # seconds this tenant's time runs ahead of the global clock
    display_credits: int | None = None  # what GET /v2/credits shows while unmetered
    # Which life of the key this is: a reset or re-creation gives the tenant a new one, never
    # used before. A call stamps it at its lookup; the store refuses its later writes (debit,
    # rate count, journal row) once the tenant it read is gone, so a call never touches
    # state created after it began. Not part of a tenant's value (equality).
    generation: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    api_key: str
    account_name: str
    status: str
    country: str
    pool_size: int
    created_at: str
    updated_at: str
    network: Network = DEFAULT_NETWORK
    # The tenant's emulated time when it was first loaded or created: what the generated
    # network's invitation ages count back from. Kept across resets and restarts.
    born: float = 0.0
    # Changes whenever the account is stored afresh (created, reset): a graph read under
    # another epoch is stale, and a Debit naming one is refused.
    epoch: str = ""
    graph_seq: int = 0  # how far its graph has come (its last change's seq), where read


def new_account(api_key: str, spec: AccountSpec, born: float, epoch: str) -> Account:
    """An account as it is first stored from its spec, whichever backend stores it."""
    created = spec.created_at or default_created_at(spec.account_id)
    name = spec.account_name or spec.account_id
    return Account(
        spec.account_id,
        api_key,
        name,
        spec.status,
        spec.country,
        spec.pool_size,
        created,
        created,
        spec.network(),
        born,
        epoch,
    )


def network_json(account: Account) -> str:
    """The account's network settings, birth and epoch as one JSON text (a backend's column)."""
    return orjson.dumps(
        {"settings": account.network.dump(), "born": account.born, "epoch": account.epoch}
    ).decode()


def load_network(raw: str | bytes | None) -> tuple[Network, float, str]:
    if not raw:
        return DEFAULT_NETWORK, 0.0, ""
    found = orjson.loads(raw)
    return Network.load(found["settings"]), float(found["born"]), str(found["epoch"])


def born_at(clock: ClockState, born: float | None) -> float:
    """A new tenant's birth: as given, else the global emulated time now."""
    return clock.now(time.time()) if born is None else born


def new_epoch() -> str:
    return secrets.token_hex(8)


def default_created_at(account_id: str) -> str:
    """A stable, plausible creation time in 2025 for accounts whose fixture gives none."""
    digest = hashlib.sha256(b"created_at\x00" + account_id.encode()).digest()
    offset = int.from_bytes(digest[:4], "big") % (365 * 86400)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1735689600 + offset))


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a v2 request needs to know first, read in one go."""

    tenant: Tenant | None  # None: no tenant has this key
    account: Account | None  # the named account, whoever owns it
    faults: bool  # whether any fault rule exists at all
    clock: ClockState  # the global clock, as it is now


@dataclass(frozen=True, slots=True)
class Usage:
    account_id: str
    status: str
    country: str
    calls: int
    credits: int


class StoreConflict(Exception):
    """Fixtures that contradict the kept state (an account id owned by another key)."""


class StoreFailure(Exception):
    """The store's medium failed a write (a full disk, a deleted file): the message says
    what, for the client's 500 and health's 503."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Change:
    """One member's new state in an account's graph, applied only if nothing changed that
    member since the plan read it (`expected` is the version it read; 0: never changed)."""

    member: str
    expected: int
    record: bytes  # the member's new state, opaque to the store

    def __post_init__(self) -> None:
        # orjson's bytes keep its whole write buffer (~4 KiB); a store that keeps the record
        # (memory) would hold that per change: 100 000 changes took 410 MB (bench/network.py).
        object.__setattr__(self, "record", bytes(memoryview(self.record)))


@dataclass(frozen=True, slots=True)
class GraphEntry:
    """A member's stored state in an account's graph: its version (how many changes it has
    had) and `seq`, the account-wide order of its last change (later changes are larger)."""

    member: str
    version: int
    seq: int
    record: bytes


@dataclass(frozen=True, slots=True)
class Debit:
    """What one successful call does to state, all of it or nothing: `cost` debited from the
    key's balance, the use recorded for (account, action), and the graph `changes` applied."""

    api_key: str
    account_id: str
    action: str
    cost: int
    changes: tuple[Change, ...] = ()
    epoch: str | None = None  # the account's epoch the plan read; another one refuses (gone)
    usage: bool = True  # False: a control-plane change, not a call (no use recorded)
    generation: int | None = None  # the tenant's, as the call read it (None: any)

    def __post_init__(self) -> None:
        members = [change.member for change in self.changes]
        if len(set(members)) < len(members):
            raise ValueError("a debit changes each member once; a member is named twice")


@dataclass(frozen=True, slots=True)
class Charge:
    """The outcome of a Debit. Refused, it changed nothing."""

    ok: bool
    balance: int | None = None  # when refused for credits, the balance that was too low
    gone: bool = False  # refused: the tenant no longer exists (a reset mid-request)
    conflict: bool = False  # refused: a member changed since the plan read it


@dataclass(frozen=True, slots=True)
class RateHit:
    allowed: bool
    retry_after: int  # whole seconds until the window resets


@dataclass(frozen=True, slots=True)
class JournalEntry:
    time: str
    method: str
    path: str
    api_key: str | None
    account_id: str | None
    action: str | None
    status: int
    code: str | None
    credits: int
    duration_ms: float
    injected: bool
    request_id: str


@dataclass(frozen=True, slots=True)
class FaultRule:
    id: str
    spec: FaultSpec
    matched: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class FaultHit:
    rule: FaultRule
    k: int  # how many times the rule had matched, this request included


def fault_id(number: int) -> str:
    return f"flt_{number}"


def fault_number(fault_id: str) -> int | None:
    """The number inside a fault id ("flt_12" -> 12), or None for anything else."""
    digits = fault_id.removeprefix("flt_")
    if digits != fault_id and digits.isascii() and digits.isdigit() and len(digits) < 16:
        return int(digits)
    return None


def matches(spec: FaultSpec, api_key: str, account_id: str | None, action: str) -> bool:
    """Whether a rule's match applies to a request; an absent field matches anything."""
    match = spec.match
    return (
        (match.api_key is None or match.api_key == api_key)
        and (match.account_id is None or match.account_id == account_id)
        and (match.action is None or match.action == action)
    )


class Store(HookStore, Protocol):
    """State of all tenants. Every method is atomic; implementations are safe to share across
    tasks and threads, and those with a shared medium (a file) across processes."""

    name: str  # what /_emulator/health reports: "memory", "file"

    async def seed_fixtures(self, tenants: list[TenantSpec], born: float | None = None) -> None:
        """Add fixture tenants and accounts that are missing; existing ones keep their state
        (new tenants are born at `born`, default: the store's global emulated time now);
        fixture tenants no longer in the fixtures last until the next full reset. Raises
        StoreConflict when a fixture account id belongs to another key."""

    async def create_tenant(self, spec: TenantSpec, born: float | None = None) -> bool:
        """False if the key or one of its account ids exists already (nothing is created)."""

    async def tenant(self, api_key: str) -> Tenant | None: ...

    async def api_keys(self) -> list[str]:
        """Every tenant's api key, sorted (the dashboard's list of tenants)."""

    async def lookup(self, api_key: str, account_id: str | None) -> Lookup:
        """The key's tenant, the named account, whether faults exist, and the clock."""

    async def account(self, account_id: str) -> Account | None: ...

    async def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]:
        """One page of the key's accounts, in the order they were listed, and their total."""

    async def usage(self, api_key: str) -> list[Usage]:
        """Calls and credits per account of the key, accounts in their listed order."""

    async def seed_clock(self, initial: ClockState) -> None:
        """The clock a full reset goes back to; also the clock now, if the state has none."""

    async def clock(self) -> ClockState: ...

    async def swap_clock(self, expected: ClockState, new: ClockState) -> bool:
        """Set the global clock to `new` if it is still `expected` (False: it moved meanwhile)."""

    async def swap_offset(self, api_key: str, expected: float, new: float) -> bool | None:
        """Set a tenant's clock offset to `new` if it is still `expected`; None if the key is
        unknown."""

    async def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool:
        """Set `credits` (the balance) and/or `rate_limit`; False if the key is unknown."""

    async def set_account_status(self, account_id: str, status: str, now: str) -> bool: ...

    async def apply(self, debit: Debit) -> Charge:
        """Check the balance and every change's expected version, then debit, record the use
        and apply the changes, in one atomic step."""

    async def graph(self, account_id: str) -> list[GraphEntry]:
        """Every stored member change of the account, oldest change first (by `seq`)."""

    async def graph_since(self, account_id: str, after: int) -> list[GraphEntry]:
        """The account's entries whose `seq` is above `after`, oldest change first."""

    async def hit_rate(
        self, api_key: str, limit: int, window_s: float, now: float, generation: int | None = None
    ) -> RateHit:
        """Count one request in the key's fixed window; `allowed` is False past `limit`. A
        window that starts after `now` (the clock went back) starts again at `now`. Nothing
        is counted (allowed) when the tenant is no longer of that `generation`."""

    async def record(self, entry: JournalEntry, bound: int, generation: int | None = None) -> None:
        """Add a request to the journal, keeping the newest `bound` rows; not when the
        entry's tenant is no longer of that `generation` (reset since the call read it)."""

    async def journal(
        self, api_key: str | None, account_id: str | None, limit: int
    ) -> tuple[list[tuple[int, JournalEntry]], int]:
        """The newest `limit` rows (with their ids, which only grow) and the total, filtered."""

    async def fault_add(self, spec: FaultSpec) -> FaultRule: ...

    async def faults(self, api_key: str | None) -> list[FaultRule]:
        """All rules, or those whose match names this api_key, oldest first."""

    async def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        """One rule by id, or all rules (of one api_key's match, if given); how many went."""

    async def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
        """Count a match on every rule that matches, oldest first, retiring spent `times`."""

    async def problem(self) -> str | None:
        """Why the store can't take writes now (a full disk, a deleted file), or None."""

    async def reset(self, api_key: str | None) -> bool:
        """Back to the fixtures and the seeded clock (all), or one tenant back to how it was
        loaded or created, its clock offset 0; False if that tenant is unknown."""

    async def close(self) -> None:
        """Release the backend; anything it held back is written first."""
