"""The Redis store's webhooks (store/hooks.py): each method one script call.

Keys (P the prefix, T a tenant's tag as in redis_scripts.py):

  T hooks            hash: webhook id -> record (JSON);  T hook_order: list of ids, oldest first
  T hz:<webhook>     zset: event id by seq;  T hb:<webhook>: hash event id -> "created|body"
  T hook_seq         the tenant's last event seq
  T cursors          hash: cursor name -> value
  P{g}hooked         set of api keys that have had webhooks (what the sweeps read)
  P{g}due            zset: "<api key>\\n<webhook>\\n<event>" by the real time it is due
  P{g}dtok, P{g}datt hash: member -> the lease's token; member -> attempts made

A tenant's scripts touch its own keys; the delivery queue is global state with its own tag, so
queueing an emitted event is a second call (a process dying between the two loses that one
delivery; the event stays to be polled). A reset of one tenant (RESET_ONE) leaves its queued
deliveries, which the sender then finds without their event and ends.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from linkup_emulator.store.hooks import Claim, HookEvent, Webhook

HOOK_SAVE = """
local t = T(ARGV[2])
if redis.call('EXISTS', t .. 'tenant') == 0 then return 0 end
local exists = redis.call('HEXISTS', t .. 'hooks', ARGV[3])
if ARGV[5] == '1' then
  if exists == 1 then return 0 end
  redis.call('RPUSH', t .. 'hook_order', ARGV[3])
elseif exists == 0 then
  return 0
end
redis.call('HSET', t .. 'hooks', ARGV[3], ARGV[4])
return 1
"""

HOOKS = """
local keys = {ARGV[2]}
if ARGV[3] == '1' then keys = redis.call('SMEMBERS', G .. 'hooked') end
local out = {}
for _, key in ipairs(keys) do
  local t = T(key)
  for _, id in ipairs(redis.call('LRANGE', t .. 'hook_order', 0, -1)) do
    local r = redis.call('HGET', t .. 'hooks', id)
    if r then table.insert(out, r) end
  end
end
return out
"""

HOOK_DROP = """
local t = T(ARGV[2])
if redis.call('HDEL', t .. 'hooks', ARGV[3]) == 0 then return 0 end
redis.call('LREM', t .. 'hook_order', 0, ARGV[3])
redis.call('DEL', t .. 'hz:' .. ARGV[3], t .. 'hb:' .. ARGV[3])
return 1
"""

# ARGV: prefix, api key, then webhook, event, created, body for each event.
HOOK_EMIT = """
local t = T(ARGV[2])
local out = {}
for i = 3, #ARGV, 4 do
  local wid, eid = ARGV[i], ARGV[i + 1]
  if redis.call('HEXISTS', t .. 'hooks', wid) == 1
      and not redis.call('ZSCORE', t .. 'hz:' .. wid, eid) then
    local seq = redis.call('INCR', t .. 'hook_seq')
    redis.call('ZADD', t .. 'hz:' .. wid, seq, eid)
    redis.call('HSET', t .. 'hb:' .. wid, eid, ARGV[i + 2] .. '|' .. ARGV[i + 3])
    table.insert(out, tostring(seq))
  else
    table.insert(out, '')
  end
end
return out
"""

QUEUE = """
for i = 3, #ARGV do
  redis.call('ZADD', G .. 'due', ARGV[2], ARGV[i])
  redis.call('HSET', G .. 'datt', ARGV[i], 0)
end
return 1
"""

# ARGV: prefix, api key, webhook, event id ('' for all of the webhook's).
HOOK_EVENTS = """
local t = T(ARGV[2])
if redis.call('HEXISTS', t .. 'hooks', ARGV[3]) == 0 then return {} end
local out = {}
if ARGV[4] ~= '' then
  local seq = redis.call('ZSCORE', t .. 'hz:' .. ARGV[3], ARGV[4])
  if not seq then return {} end
  return {ARGV[4], seq, redis.call('HGET', t .. 'hb:' .. ARGV[3], ARGV[4])}
end
local ids = redis.call('ZRANGE', t .. 'hz:' .. ARGV[3], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  table.insert(out, ids[i])
  table.insert(out, ids[i + 1])
  table.insert(out, redis.call('HGET', t .. 'hb:' .. ARGV[3], ids[i]))
end
return out
"""

HOOK_PURGE = """
local t = T(ARGV[2])
local before = tonumber(ARGV[3])
local gone = 0
for _, id in ipairs(redis.call('LRANGE', t .. 'hook_order', 0, -1)) do
  local kept = redis.call('HGETALL', t .. 'hb:' .. id)
  for i = 1, #kept, 2 do
    local created = tonumber(string.sub(kept[i + 1], 1, string.find(kept[i + 1], '|', 1, true) - 1))
    if created < before then
      redis.call('HDEL', t .. 'hb:' .. id, kept[i])
      redis.call('ZREM', t .. 'hz:' .. id, kept[i])
      gone = gone + 1
    end
  end
end
return gone
"""

# ARGV: prefix, now, the lease's end, limit, token.
CLAIM = """
local due = redis.call('ZRANGEBYSCORE', G .. 'due', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, m in ipairs(due) do
  redis.call('ZADD', G .. 'due', ARGV[3], m)
  redis.call('HSET', G .. 'dtok', m, ARGV[5])
  table.insert(out, m)
  table.insert(out, redis.call('HGET', G .. 'datt', m) or '0')
end
return out
"""

# ARGV: prefix, member, token, retry time ('' when done).
SETTLE = """
if redis.call('HGET', G .. 'dtok', ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HDEL', G .. 'dtok', ARGV[2])
if ARGV[4] == '' then
  redis.call('ZREM', G .. 'due', ARGV[2])
  redis.call('HDEL', G .. 'datt', ARGV[2])
else
  redis.call('ZADD', G .. 'due', ARGV[4], ARGV[2])
  redis.call('HINCRBY', G .. 'datt', ARGV[2], 1)
end
return 1
"""

# ARGV: prefix, api key, name, expected, new ('' for none), then account, cost ('' no charge).
SWAP_CURSOR = """
local t = T(ARGV[2])
if redis.call('EXISTS', t .. 'tenant') == 0 then return 0 end
if (redis.call('HGET', t .. 'cursors', ARGV[3]) or '') ~= ARGV[4] then return 0 end
if ARGV[5] == '' then
  redis.call('HDEL', t .. 'cursors', ARGV[3])
else
  redis.call('HSET', t .. 'cursors', ARGV[3], ARGV[5])
end
if ARGV[7] ~= '' then
  local cost = tonumber(ARGV[7])
  local balance = redis.call('HGET', t .. 'tenant', 'balance')
  if balance ~= '' then
    cost = math.min(cost, tonumber(balance))
    redis.call('HINCRBY', t .. 'tenant', 'balance', -cost)
  end
  redis.call('HINCRBY', t .. 'tenant', 'consumed', cost)
  redis.call('HINCRBY', t .. 'usage', 'n' .. ARGV[6], 1)
  redis.call('HINCRBY', t .. 'usage', 'c' .. ARGV[6], cost)
end
return 1
"""


def _num(value: float) -> str:
    return repr(float(value))


class RedisHooks:
    """Mixed into RedisStore, whose script runner it shares."""

    _run: Callable[..., Awaitable[Any]]  # RedisStore's

    async def hook_save(self, hook: Webhook, *, create: bool) -> bool:
        saved = await self._run(
            _s("save"), (), hook.api_key, hook.webhook_id, hook.dump(), "1" if create else "0"
        )
        if saved and create:
            await self._run(_s("hooked"), (), hook.api_key)
        return bool(saved)

    async def hooks(self, api_key: str | None) -> list[Webhook]:
        rows = await self._run(_s("hooks"), (), api_key or "", "1" if api_key is None else "0")
        return [Webhook.load(row) for row in rows]

    async def hook_drop(self, api_key: str, webhook_id: str) -> bool:
        return bool(await self._run(_s("drop"), (), api_key, webhook_id))

    async def hook_emit(
        self, api_key: str, events: Sequence[HookEvent], due: float | None
    ) -> list[HookEvent]:
        if not events:
            return []
        args = [v for e in events for v in (e.webhook_id, e.event_id, _num(e.created_at), e.body)]
        seqs = await self._run(_s("emit"), (), api_key, *args)
        added = [
            HookEvent(e.webhook_id, e.event_id, e.created_at, e.body, int(seq))
            for e, seq in zip(events, seqs, strict=True)
            if seq
        ]
        if due is not None and added:
            members = [f"{api_key}\n{e.webhook_id}\n{e.event_id}" for e in added]
            await self._run(_s("queue"), (), _num(due), *members)
        return added

    async def hook_events(self, api_key: str, webhook_id: str) -> list[HookEvent]:
        row = await self._run(_s("events"), (), api_key, webhook_id, "")
        return [_event(webhook_id, row[i : i + 3]) for i in range(0, len(row), 3)]

    async def hook_event(self, api_key: str, webhook_id: str, event_id: str) -> HookEvent | None:
        row = await self._run(_s("events"), (), api_key, webhook_id, event_id)
        return _event(webhook_id, row) if row else None

    async def hook_purge(self, api_key: str, before: float) -> int:
        return int(await self._run(_s("purge"), (), api_key, _num(before)))

    async def claim(self, now: float, lease_s: float, limit: int) -> list[Claim]:
        token = os.urandom(8).hex()
        row = await self._run(_s("claim"), (), _num(now), _num(now + lease_s), limit, token)
        claims = []
        for i in range(0, len(row), 2):
            api_key, webhook_id, event_id = row[i].decode().split("\n")
            claims.append(Claim(api_key, webhook_id, event_id, int(row[i + 1]), token))
        return claims

    async def settle(self, claim: Claim, retry_at: float | None) -> bool:
        member = f"{claim.api_key}\n{claim.webhook_id}\n{claim.event_id}"
        retry = "" if retry_at is None else _num(retry_at)
        return bool(await self._run(_s("settle"), (), member, claim.token, retry))

    async def cursor(self, api_key: str, name: str) -> float | None:
        raw = await self._run(_s("cursor"), (), api_key, name)
        return None if raw is None else float(raw)

    async def swap_cursor(
        self,
        api_key: str,
        name: str,
        expected: float | None,
        new: float | None,
        charge: tuple[str, str, int] | None = None,
    ) -> bool:
        old = "" if expected is None else _num(expected)
        value = "" if new is None else _num(new)
        account, cost = ("", "") if charge is None else (charge[0], str(charge[2]))
        return bool(
            await self._run(_s("swap_cursor"), (), api_key, name, old, value, account, cost)
        )


def _event(webhook_id: str, row: Sequence[bytes]) -> HookEvent:
    event_id, seq, stored = row
    created, _, body = stored.partition(b"|")
    return HookEvent(webhook_id, event_id.decode(), float(created), body, int(float(seq)))


_SOURCES = {
    "save": (HOOK_SAVE, False),
    "hooked": ("redis.call('SADD', G .. 'hooked', ARGV[2]) return 1", False),
    "hooks": (HOOKS, True),
    "drop": (HOOK_DROP, False),
    "emit": (HOOK_EMIT, False),
    "queue": (QUEUE, False),
    "events": (HOOK_EVENTS, True),
    "purge": (HOOK_PURGE, False),
    "claim": (CLAIM, False),
    "settle": (SETTLE, False),
    "cursor": ("return redis.call('HGET', T(ARGV[2]) .. 'cursors', ARGV[3])", True),
    "swap_cursor": (SWAP_CURSOR, False),
}
_SCRIPTS: dict[str, Any] = {}


def _s(name: str) -> Any:
    """The script `name`, made on first use (redis.py, which defines scripts, imports this)."""
    script = _SCRIPTS.get(name)
    if script is None:
        from linkup_emulator.store.redis import _Script

        body, reads = _SOURCES[name]
        script = _SCRIPTS[name] = _Script(body, reads=reads)
    return script
