"""The Store protocol: every piece of mutable emulator state goes through it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.models import FaultSpec, TenantSpec


@dataclass(frozen=True, slots=True)
class Tenant:
    api_key: str
    balance: int | None  # None: unmetered
    consumed: int
    rate_limit: int | None  # None: the server's default


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


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a v2 request needs to know first, read in one go."""

    tenant: Tenant
    account: Account | None  # the named account, whoever owns it
    faults: bool  # whether any fault rule exists at all


@dataclass(frozen=True, slots=True)
class Usage:
    account_id: str
    status: str
    country: str
    calls: int
    credits: int


class StoreConflict(Exception):
    """Fixtures that contradict the kept state (an account id owned by another key)."""


@dataclass(frozen=True, slots=True)
class Charge:
    ok: bool
    balance: int | None = None  # when refused, the balance that was too low
    gone: bool = False  # refused because the tenant no longer exists (a reset mid-request)


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


class Store(Protocol):
    """State of all tenants. Implementations are safe across threads and processes."""

    kind: str

    def seed_fixtures(self, tenants: list[TenantSpec]) -> None:
        """Add fixture tenants and accounts that are missing; existing ones keep their state;
        fixture tenants no longer in the fixtures last until the next full reset."""

    def create_tenant(self, spec: TenantSpec) -> bool:
        """False if the key or one of its account ids exists already."""

    def tenant(self, api_key: str) -> Tenant | None: ...

    def lookup(self, api_key: str, account_id: str | None) -> Lookup | None:
        """The key's tenant (None if unknown), the named account and whether faults exist."""

    def account(self, account_id: str) -> Account | None: ...

    def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]: ...

    def usage(self, api_key: str) -> list[Usage]: ...

    def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool: ...

    def set_account_status(self, account_id: str, status: str, now: str) -> bool: ...

    def charge(self, api_key: str, account_id: str, action: str, cost: int) -> Charge:
        """Check the balance and debit `cost` in one atomic step, recording the use."""

    def hit_rate(self, api_key: str, limit: int, window_s: float, now: float) -> RateHit:
        """Count one request in the key's window; `allowed` is False past `limit`."""

    def journal_add(self, entry: JournalEntry, bound: int) -> None:
        """Record a request; it may be buffered, but `journal` and `reset` see it."""

    def flush(self) -> None:
        """Write anything buffered (at shutdown)."""

    def journal(
        self, api_key: str | None, account_id: str | None, limit: int
    ) -> tuple[list[tuple[int, JournalEntry]], int]: ...

    def fault_add(self, spec: FaultSpec) -> FaultRule: ...

    def faults(self, api_key: str | None) -> list[FaultRule]:
        """All rules, or those whose match names this api_key."""

    def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        """One rule by id, or all rules (of one api_key's match, if given)."""

    def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
        """Count a match on every rule that matches, retiring spent `times` rules."""

    def reset(self, api_key: str | None) -> bool:
        """Back to the fixtures (all), or one tenant back to how it was loaded or created."""

    def close(self) -> None: ...
