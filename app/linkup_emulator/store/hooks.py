"""The webhooks' part of the store protocol: subscriptions, their events, deliveries and cursors.

Kept apart from base.py so the two grow without touching each other; `Store` takes it in. A
webhook and its events belong to their tenant (a reset takes them); deliveries are a queue
every process of the emulator claims from, each claim a lease, so one process sends each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import orjson


@dataclass(frozen=True, slots=True)
class Webhook:
    """One subscription, as stored. Times are emulated epoch seconds."""

    webhook_id: str
    api_key: str
    account_id: str
    url: str | None  # None: hosted (events kept to be polled or streamed)
    events: tuple[str, ...]
    secret: str | None  # None: deliveries unsigned
    retry: bool
    is_active: bool
    created_at: float
    updated_at: float
    rotations: int = 0  # how many secrets it has had (the next one derives from it)

    def dump(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def load(cls, raw: bytes | str) -> Webhook:
        fields = orjson.loads(raw)
        fields["events"] = tuple(fields["events"])
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One event for one webhook: `body` is the JSON it is delivered as; `created_at` when it
    was emitted (emulated); `seq` its order among the webhook's events (set by the store)."""

    webhook_id: str
    event_id: str
    created_at: float
    body: bytes
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery one process has leased: it alone sends it until the lease ends or it
    settles it with `token`. `attempts`: how many were made before this one."""

    api_key: str
    webhook_id: str
    event_id: str
    attempts: int
    token: str


class HookStore(Protocol):
    async def hook_save(self, hook: Webhook, *, create: bool) -> bool:
        """create: add it, False if its tenant is gone or its id is taken; else replace the
        stored one of that id, False if there is none."""

    async def hooks(self, api_key: str | None) -> list[Webhook]:
        """The key's webhooks (every key's with None), each key's oldest first."""

    async def hook_drop(self, api_key: str, webhook_id: str) -> bool:
        """Delete a webhook with its events; False if the key has no such webhook."""

    async def hook_emit(
        self, api_key: str, events: Sequence[HookEvent], due: float | None
    ) -> list[HookEvent]:
        """Add each event its webhook does not hold yet (by event id) and give those added,
        with their seq; with `due` (real time), each added one is also queued for delivery.
        Events of webhooks that are gone are dropped."""

    async def hook_events(self, api_key: str, webhook_id: str) -> list[HookEvent]:
        """The webhook's kept events, oldest first."""

    async def hook_event(self, api_key: str, webhook_id: str, event_id: str) -> HookEvent | None:
        """One kept event of the key's webhook, or None."""

    async def hook_purge(self, api_key: str, before: float) -> int:
        """Drop the key's events created before `before`; how many went."""

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        """Lease up to `limit` deliveries due at `now` (real time), each to this caller alone
        for `lease_s`: an unsettled lease lapses, and the delivery is due again."""

    async def settle(self, claim: Claim, retry_at: float | None) -> bool:
        """End a claimed delivery (None) or make it due again at `retry_at`, one attempt
        more; False if the claim's lease was lost (then nothing changes)."""

    async def cursor(self, api_key: str, name: str) -> float | None: ...

    async def swap_cursor(
        self,
        api_key: str,
        name: str,
        expected: float | None,
        new: float | None,
        charge: tuple[str, str, int] | None = None,
    ) -> bool:
        """Set the key's cursor `name` to `new` (None: remove it) if it is still `expected`.
        `charge` (account, action, credits): also debit them, down to a zero balance at most,
        and record the use, in the same atomic step. False: it moved, or the key is gone."""
