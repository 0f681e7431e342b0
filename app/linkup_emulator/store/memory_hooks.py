"""The in-memory store's webhooks (store/hooks.py): dicts under the store's one lock."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from linkup_emulator.store.hooks import Claim, HookEvent, Webhook


@dataclass(slots=True)
class _Delivery:
    api_key: str
    due: float
    attempts: int = 0
    token: str | None = None


@dataclass(slots=True)
class _Hooks:
    hooks: dict[str, Webhook] = field(default_factory=dict)  # insertion order: oldest first
    events: dict[str, dict[str, HookEvent]] = field(default_factory=dict)  # webhook -> id -> event
    deliveries: dict[tuple[str, str], _Delivery] = field(default_factory=dict)
    cursors: dict[tuple[str, str], float] = field(default_factory=dict)
    seq: int = 0


class MemoryHooks:
    """Mixed into MemoryStore, whose lock, tenants and usage it shares."""

    _lock: threading.Lock
    _tenants: dict[str, Any]
    _usage: dict[tuple[str, str, str], list[int]]
    _hook_state: _Hooks

    def _hooks_reset(self, api_key: str | None) -> None:
        """Everything of one key (or of all) goes with a reset; the caller holds the lock."""
        if api_key is None:
            self._hook_state = _Hooks()
            return
        state = self._hook_state
        for webhook_id in [w for w, h in state.hooks.items() if h.api_key == api_key]:
            del state.hooks[webhook_id]
            state.events.pop(webhook_id, None)
        state.deliveries = {k: d for k, d in state.deliveries.items() if d.api_key != api_key}
        state.cursors = {k: v for k, v in state.cursors.items() if k[0] != api_key}

    async def hook_save(self, hook: Webhook, *, create: bool) -> bool:
        with self._lock:
            state = self._hook_state
            if hook.api_key not in self._tenants:
                return False
            found = state.hooks.get(hook.webhook_id)
            if create == (found is not None):
                return False
            if found is not None and found.api_key != hook.api_key:
                return False
            state.hooks[hook.webhook_id] = hook
            state.events.setdefault(hook.webhook_id, {})
            return True

    async def hooks(self, api_key: str | None) -> list[Webhook]:
        with self._lock:
            return [
                h
                for h in self._hook_state.hooks.values()
                if api_key is None or h.api_key == api_key
            ]

    async def hook_drop(self, api_key: str, webhook_id: str) -> bool:
        with self._lock:
            state = self._hook_state
            found = state.hooks.get(webhook_id)
            if found is None or found.api_key != api_key:
                return False
            del state.hooks[webhook_id]
            state.events.pop(webhook_id, None)
            state.deliveries = {k: d for k, d in state.deliveries.items() if k[0] != webhook_id}
            return True

    async def hook_emit(
        self, api_key: str, events: Sequence[HookEvent], due: float | None
    ) -> list[HookEvent]:
        added = []
        with self._lock:
            state = self._hook_state
            for event in events:
                hook = state.hooks.get(event.webhook_id)
                if hook is None or hook.api_key != api_key:
                    continue
                kept = state.events[event.webhook_id]
                if event.event_id in kept:
                    continue
                state.seq += 1
                kept[event.event_id] = stored = replace(event, seq=state.seq)
                added.append(stored)
                if due is not None:
                    key = (event.webhook_id, event.event_id)
                    state.deliveries[key] = _Delivery(api_key, due)
        return added

    async def hook_events(self, api_key: str, webhook_id: str) -> list[HookEvent]:
        with self._lock:
            hook = self._hook_state.hooks.get(webhook_id)
            if hook is None or hook.api_key != api_key:
                return []
            return list(self._hook_state.events[webhook_id].values())

    async def hook_event(self, api_key: str, webhook_id: str, event_id: str) -> HookEvent | None:
        with self._lock:
            hook = self._hook_state.hooks.get(webhook_id)
            if hook is None or hook.api_key != api_key:
                return None
            return self._hook_state.events[webhook_id].get(event_id)

    async def hook_purge(self, api_key: str, before: float) -> int:
        gone = 0
        with self._lock:
            state = self._hook_state
            for webhook_id, hook in state.hooks.items():
                if hook.api_key != api_key:
                    continue
                kept = state.events[webhook_id]
                old = [i for i, e in kept.items() if e.created_at < before]
                for event_id in old:
                    del kept[event_id]
                gone += len(old)
        return gone

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        claims: list[Claim] = []
        with self._lock:
            due = sorted(
                (d.due, key) for key, d in self._hook_state.deliveries.items() if d.due <= now
            )
            for _, key in due[:limit]:
                delivery = self._hook_state.deliveries[key]
                delivery.token, delivery.due = os.urandom(8).hex(), now + lease_s
                claims.append(Claim(delivery.api_key, *key, delivery.attempts, delivery.token))
        return claims

    async def settle(self, claim: Claim, retry_at: float | None) -> bool:
        key = (claim.webhook_id, claim.event_id)
        with self._lock:
            delivery = self._hook_state.deliveries.get(key)
            if delivery is None or delivery.token != claim.token:
                return False
            if retry_at is None:
                del self._hook_state.deliveries[key]
            else:
                delivery.due, delivery.token = retry_at, None
                delivery.attempts += 1
            return True

    async def cursor(self, api_key: str, name: str) -> float | None:
        with self._lock:
            return self._hook_state.cursors.get((api_key, name))

    async def swap_cursor(
        self,
        api_key: str,
        name: str,
        expected: float | None,
        new: float | None,
        charge: tuple[str, str, int] | None = None,
    ) -> bool:
        with self._lock:
            cursors = self._hook_state.cursors
            tenant = self._tenants.get(api_key)
            if tenant is None or cursors.get((api_key, name)) != expected:
                return False
            if new is None:
                cursors.pop((api_key, name), None)
            else:
                cursors[(api_key, name)] = new
            if charge is not None:
                account_id, action, credits = charge
                if tenant.balance is not None:
                    credits = min(credits, tenant.balance)
                    tenant.balance -= credits
                tenant.consumed += credits
                use = self._usage.setdefault((api_key, account_id, action), [0, 0])
                use[0] += 1
                use[1] += credits
            return True
