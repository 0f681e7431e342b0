"""Events from the emulated graph into webhooks, each exactly once, and the monitoring charge.

An account's events are swept from its graph over (cursor, now] of its emulated time; the
cursor moves by compare-and-swap in the store, and each event's id is a hash of its key, which
the store keeps once per webhook, so neither a second sweep of a window (another worker, a
replica) nor a retried one adds an event twice.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable, Sequence

import orjson

from linkup_emulator import envelope
from linkup_emulator.network.graph import GraphEvent
from linkup_emulator.store import Account, Store
from linkup_emulator.store.hooks import HookEvent, Webhook
from linkup_emulator.webhooks.subscriptions import subscribes

DAY_S = 86_400.0
RETENTION_S = DAY_S  # hosted events are kept 24 emulated hours from when they were emitted
MONITORING_CREDITS = 10  # per whole emulated day an account has an active webhook
MONITORING_ACTION = "webhook_monitoring"  # how the charge shows in the usage report
# The list each kind's people go in (SPEC 1.8; the reference's section 10.4).
PEOPLE_FIELD = {"accepted_invitation": "new_connections", "invitation_received": "new_invitations"}
SWAPS = 8  # a cursor lost to other sweepers this often in a row: they did the work
# Each sweep reads this much before its cursor again: an event stored just after a sweep read
# the graph, at a time before the cursor it then set (a call racing the sweep; a frozen clock,
# where the window is empty), is still found; its id keeps it once.
LOOKBACK_S = 60.0


# The graph's events of an account whose emulated time t has start < t <= end.
Source = Callable[[str, float, float], Awaitable[Sequence[GraphEvent]]]


def sweep_cursor(account_id: str) -> str:
    return f"swept:{account_id}"


def monitor_cursor(account_id: str) -> str:
    return f"monitored:{account_id}"


def event_id(seed: str, account_id: str, key: str) -> str:
    return hashlib.sha256(f"event\x00{seed}\x00{account_id}\x00{key}".encode()).hexdigest()[:24]


def body(account: Account, event: GraphEvent) -> bytes:
    """The delivered JSON: {account_id, account_name, event: {type, <people>}, timestamp}."""
    payload = {"type": event.kind, PEOPLE_FIELD.get(event.kind, "people"): event.people}
    return orjson.dumps(
        {
            "account_id": account.account_id,
            "account_name": account.account_name,
            "event": payload,
            "timestamp": envelope.stamp(event.at),
        }
    )


class Pipeline:
    """Turns graph events into stored events and queued deliveries; charges monitoring."""

    def __init__(
        self,
        store: Store,
        seed: str,
        now: Callable[[str], Awaitable[float | None]],
        wall: Callable[[], float],
        source: Source | None = None,
    ) -> None:
        self.store = store
        self.seed = seed
        self.now = now  # a tenant's emulated time (None: no such tenant)
        self.wall = wall  # real time: when a delivery is due
        self.source = source
        self.on_queued: Callable[[], None] = lambda: None  # the dispatcher's wake-up

    async def emit(
        self,
        account: Account,
        events: Sequence[GraphEvent],
        now: float,
        hooks: Sequence[Webhook] | None = None,
    ) -> list[HookEvent]:
        """Each event to every active webhook of the account that takes its kind and existed
        when it happened; once each (by event id), however often this runs."""
        if hooks is None:
            hooks = await self.store.hooks(account.api_key)
        custom: list[HookEvent] = []
        hosted: list[HookEvent] = []
        for event in events:
            eid = event_id(self.seed, account.account_id, event.key)
            raw = body(account, event)
            for hook in hooks:
                if (
                    hook.account_id != account.account_id
                    or not hook.is_active
                    or not subscribes(hook, event.kind)
                    or event.at < hook.created_at
                ):
                    continue
                row = HookEvent(hook.webhook_id, eid, now, raw)
                (hosted if hook.url is None else custom).append(row)
        added = await self.store.hook_emit(account.api_key, hosted, None)
        queued = await self.store.hook_emit(account.api_key, custom, self.wall())
        if queued:
            self.on_queued()
        return added + queued

    async def watch(self, api_key: str, account_id: str, now: float) -> None:
        """Start an account's sweep cursor at `now` if it has none (its first webhook)."""
        await self.store.swap_cursor(api_key, sweep_cursor(account_id), None, now)

    async def sweep(self, account: Account, now: float, hooks: Sequence[Webhook]) -> int:
        """The account's graph events due by `now`, emitted once; how many were added."""
        name = sweep_cursor(account.account_id)
        added = 0
        for _ in range(SWAPS):
            start = await self.store.cursor(account.api_key, name)
            if start is None:
                await self.watch(account.api_key, account.account_id, now)
                return added
            if self.source is not None:
                events = await self.source(account.account_id, start - LOOKBACK_S, now)
                added += len(await self.emit(account, events, now, hooks))
            if now <= start or await self.store.swap_cursor(account.api_key, name, start, now):
                return added
        return added

    async def account_changed(self, account_id: str) -> None:
        """A call changed the account's graph (the control plane's arrivals and answers, a v2
        action): what it made due, now."""
        account = await self.store.account(account_id)
        if account is None:
            return
        now = await self.now(account.api_key)
        if now is not None and any(
            h.account_id == account_id for h in await self.store.hooks(account.api_key)
        ):
            await self.settle_account(account, now)

    async def monitor(self, api_key: str, account_id: str, active: bool, now: float) -> None:
        """Charge each whole emulated day the account's monitoring ran, as it completes; start
        the count when its first webhook is active, end it (the partial day free) with the
        last."""
        name = monitor_cursor(account_id)
        for _ in range(SWAPS):
            since = await self.store.cursor(api_key, name)
            if since is None:
                if not active or await self.store.swap_cursor(api_key, name, None, now):
                    return
                continue
            days = max(0, math.floor((now - since) / DAY_S))
            if active and days == 0:
                return
            new = since + days * DAY_S if active else None
            charge = (account_id, MONITORING_ACTION, days * MONITORING_CREDITS) if days else None
            if await self.store.swap_cursor(api_key, name, since, new, charge):
                return

    async def settle_account(self, account: Account, now: float) -> None:
        """Everything due for one account by `now`: its events, its charge."""
        hooks = [
            h for h in await self.store.hooks(account.api_key) if h.account_id == account.account_id
        ]
        active = any(h.is_active for h in hooks)
        if hooks:  # stopped ones too: their cursor moves on, so a restart gets nothing of the pause
            await self.sweep(account, now, hooks)
        await self.monitor(account.api_key, account.account_id, active, now)

    async def tick(self, api_key: str | None = None) -> None:
        """Every webhook's account (of one key, or all): events swept, charges made, hosted
        events past their 24 emulated hours purged."""
        hooks = await self.store.hooks(api_key)
        keys = dict.fromkeys(h.api_key for h in hooks)
        for key in keys:
            now = await self.now(key)
            if now is None:
                continue
            await self.store.hook_purge(key, now - RETENTION_S)
            for account_id in dict.fromkeys(h.account_id for h in hooks if h.api_key == key):
                account = await self.store.account(account_id)
                if account is not None and account.api_key == key:
                    await self.settle_account(account, now)
