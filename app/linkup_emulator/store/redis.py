"""The Redis store: every piece of state in Redis, so any number of emulator processes on any
number of hosts serve one emulator. Each method is one Lua script call (redis_scripts.py),
atomic on the server: one round trip, and no other call can slip between its reads and writes.

Clients are made per event loop: an asyncio connection belongs to the loop that opened it, and
this store is called from several (the server's, run_sync's at start, the in-process fixture's,
one per thread in the race tests). A loop's client is closed when that loop shuts its async
generators down (asyncio.run and uvicorn do) or by close() on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from linkup_emulator.clock import SYSTEM_CLOCK, ClockState
from linkup_emulator.models import DEFAULT_NETWORK, FaultSpec, Network, TenantSpec
from linkup_emulator.observability.logging import log
from linkup_emulator.store import redis_scripts as lua
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
    new_account,
)
from linkup_emulator.store.redis_hooks import RedisHooks

DEFAULT_PREFIX = "linkup:"
# A call never waits longer than this on a Redis that stopped answering (it then fails: 500).
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
NO_ACCOUNT = "-" * 40  # the journal's account digest of a request that named none
Arg = str | bytes | int | float


def _num(value: float) -> str:
    """A float as Redis keeps it: its repr reads back to the same double."""
    return repr(float(value))


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _int(raw: bytes | None) -> int | None:
    return None if raw is None or raw == b"" else int(raw)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _glob(text: str) -> str:
    """`text` as a literal in a KEYS pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _image(spec: TenantSpec, born: float) -> bytes:
    """What the tenant is at its creation, in the form the scripts insert (every value a
    string: cjson would turn large numbers into floats)."""
    accounts = [new_account(spec.api_key, a, born, "") for a in spec.accounts]
    return orjson.dumps(
        {
            "credits": _opt(spec.credits),
            "rate_limit": _opt(spec.rate_limit),
            "display": _opt(spec.display_credits),
            "born": _num(born),
            "accounts": [
                [a.account_id, a.account_name, a.status, a.country, str(a.pool_size),
                 a.created_at, a.updated_at, orjson.dumps(a.network.dump()).decode()]
                for a in accounts
            ],
        }
    )  # fmt: skip


def _clock(frozen: bytes | None, offset: bytes | None) -> ClockState:
    if offset is None:
        return SYSTEM_CLOCK
    return ClockState(float(frozen) if frozen else None, float(offset))


def _tenant(
    api_key: str,
    row: Sequence[bytes | None],
    display: bytes | None = None,
    generation: bytes | None = None,
) -> Tenant | None:
    balance, consumed, rate_limit, offset = row[:4]
    if consumed is None:
        return None
    # display_credits only while unmetered: the one time GET /v2/credits shows it.
    shown = _int(display) if _int(balance) is None else None
    return Tenant(
        api_key,
        _int(balance),
        int(consumed),
        _int(rate_limit),
        float(offset or 0),
        shown,
        int(generation or 0),
    )


def _account(
    account_id: str, owner: bytes, row: Sequence[bytes | None], extra: Sequence[bytes | None]
) -> Account:
    """An account from its six listed fields and (net, epoch, the owner's born[, graph seq])."""
    name, status, country, pool, created, updated = (v.decode() if v else "" for v in row)
    net, epoch, born, *seq = extra
    network = Network.load(orjson.loads(net)) if net else DEFAULT_NETWORK
    return Account(
        account_id, owner.decode(), name, status, country, int(pool), created, updated,
        network, float(born or 0), (epoch or b"").decode(), int(seq[0] or 0) if seq else 0,
    )  # fmt: skip


class _Script:
    """A script run with EVALSHA, loaded on first use (and again after a Redis restart).
    `reads` scripts change nothing, so one that met a dead connection is simply run again."""

    def __init__(self, body: str, *, reads: bool = False) -> None:
        self.source = lua.PREAMBLE + body
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        self.reads = reads

    async def __call__(
        self, client: redis.asyncio.Redis, keys: Sequence[str], args: Sequence[Arg]
    ) -> Any:
        try:
            return await self._eval(client, keys, args)
        except redis.ConnectionError:
            # Connections idle in the pool since Redis went away are dead too: drop them all,
            # so the next calls connect afresh. A write is not sent again: it may have run.
            await client.connection_pool.disconnect(inuse_connections=False)
            if not self.reads:
                raise
            return await self._eval(client, keys, args)

    async def _eval(
        self, client: redis.asyncio.Redis, keys: Sequence[str], args: Sequence[Arg]
    ) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:  # the script never ran: safe to load it and run it once
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


LOOKUP = _Script(lua.LOOKUP, reads=True)
CREATE = _Script(lua.CREATE)
SEED = _Script(lua.SEED)
ACCOUNTS = _Script(lua.ACCOUNTS, reads=True)
USAGE = _Script(lua.USAGE, reads=True)
SEED_CLOCK = _Script(lua.SEED_CLOCK)
SWAP_CLOCK = _Script(lua.SWAP_CLOCK)
SWAP_OFFSET = _Script(lua.SWAP_OFFSET)
PATCH = _Script(lua.PATCH)
STATUS = _Script(lua.STATUS)
APPLY = _Script(lua.APPLY)
GRAPH = _Script(lua.GRAPH, reads=True)
GRAPH_SINCE = _Script(lua.GRAPH_SINCE, reads=True)
HIT_RATE = _Script(lua.HIT_RATE)
# tenant() and clock() read one hash each: a script too, so they share the retry above.
TENANT = _Script(
    "return redis.call('HMGET', KEYS[1], 'balance', 'consumed', 'rate_limit', 'offset',"
    " 'display', 'gen')",
    reads=True,
)
CLOCK = _Script("return redis.call('HMGET', KEYS[1], 'frozen', 'offset')", reads=True)
API_KEYS = _Script("return redis.call('SMEMBERS', KEYS[1])", reads=True)
RECORD = _Script(lua.RECORD)
JOURNAL = _Script(lua.JOURNAL, reads=True)
FAULT_ADD = _Script(lua.FAULT_ADD)
FAULTS = _Script(lua.FAULTS, reads=True)
FAULT_DELETE = _Script(lua.FAULT_DELETE)
FAULT_HITS = _Script(lua.FAULT_HITS)
RESET_ALL = _Script(lua.RESET_ALL)
RESET_ONE = _Script(lua.RESET_ONE)


def check(url: str) -> None:
    """Raise ValueError for a URL that is not a Redis URL, redis.RedisError when the server
    can't be reached or refuses the credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("expected redis://[user:password@]host[:port][/db] (or rediss://)")
    parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    client = redis.Redis.from_url(
        url,
        socket_timeout=CONNECT_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    finally:
        client.close()


@dataclass(slots=True)
class _Rows:
    """Journal rows of one event loop waiting to be written, and whether a write is on."""

    keys: list[str] = field(default_factory=list)
    args: list[Arg] = field(default_factory=list)
    done: asyncio.Future[None] | None = None
    writing: bool = False


class RedisStore(RedisHooks):
    """State in one Redis database, under `prefix`; shared by every process that opens it."""

    name = "redis"

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self._global = f"{prefix}{{g}}"
        self._lock = threading.Lock()
        self._clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        # Each loop's keeper: an async generator the loop closes when it shuts down.
        self._keepers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._rows: dict[asyncio.AbstractEventLoop, _Rows] = {}

    # -- clients, one per event loop ------------------------------------------------------------

    async def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is not None:
            return client
        client = redis.asyncio.Redis.from_url(
            self.url,
            socket_timeout=SOCKET_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            # No retries: a script whose answer was lost may have run, and must not run twice
            # (a debit taken twice). At the first dead connection the idle ones are dropped
            # too (_Script), so a Redis that comes back is used again by the next call.
            retry=Retry(NoBackoff(), 0),
        )
        keeper = self._keep(loop, client)
        with self._lock:
            self._clients[loop] = client
            self._keepers[loop] = keeper
        await keeper.__anext__()
        return client

    async def _keep(
        self, loop: asyncio.AbstractEventLoop, client: redis.asyncio.Redis
    ) -> AsyncGenerator[None, None]:
        """Suspended for as long as the loop runs; its `finally` closes the loop's client when
        the loop shuts down its async generators (asyncio.run, uvicorn) or close() ends it."""
        try:
            yield
        finally:
            with self._lock:
                self._clients.pop(loop, None)
                self._keepers.pop(loop, None)
                self._rows.pop(loop, None)
            await client.aclose()

    async def _run(self, script: _Script, keys: Sequence[str], *args: Arg) -> Any:
        return await script(await self._client(), keys, (self.prefix, *args))

    def _tag(self, api_key: str) -> str:
        return f"{self.prefix}{{t:{_digest(api_key)}}}"

    def _journal_key(self, api_key: str | None) -> str:
        if api_key is None:
            return f"{self.prefix}{{j:none}}journal"
        return self._tag(api_key) + "journal"

    # -- tenants -----------------------------------------------------------------------------

    async def _born(self, born: float | None) -> float:
        return born if born is not None else born_at(await self.clock(), None)

    async def seed_fixtures(self, tenants: list[TenantSpec], born: float | None = None) -> None:
        args: list[Arg] = []
        now = await self._born(born)
        for spec in tenants:
            args += [spec.api_key, spec.model_dump_json(), _image(spec, now)]
        conflict = await self._run(SEED, (), *args)
        if conflict:
            account_id, api_key = (v.decode() for v in conflict)
            raise StoreConflict(
                f"account_id '{account_id}' of fixture tenant '{api_key}'"
                " belongs to another key in the state"
            )

    async def create_tenant(self, spec: TenantSpec, born: float | None = None) -> bool:
        ids = [account.account_id for account in spec.accounts]
        if len(set(ids)) < len(ids):
            return False
        image = _image(spec, await self._born(born))
        created = await self._run(CREATE, (), spec.api_key, spec.model_dump_json(), image)
        return bool(created)

    async def tenant(self, api_key: str) -> Tenant | None:
        row = await self._run(TENANT, (self._tag(api_key) + "tenant",))
        return _tenant(api_key, row, row[4], row[5])

    async def api_keys(self) -> list[str]:
        keys: list[bytes] = await self._run(API_KEYS, (self._global + "tenants",))
        return sorted(key.decode() for key in keys)

    async def lookup(self, api_key: str, account_id: str | None) -> Lookup:
        named = account_id is not None
        row = await self._run(LOOKUP, (), api_key, account_id or "", "1" if named else "0")
        tenant = _tenant(api_key, row, row[14], row[19])
        account = None
        if row[4] is not None and account_id is not None:
            account = _account(account_id, row[4], row[5:11], row[15:19])
        return Lookup(tenant, account, int(row[11]) > 0, _clock(row[12], row[13]))

    async def account(self, account_id: str) -> Account | None:
        return (await self.lookup("", account_id)).account

    async def accounts(self, api_key: str, limit: int, offset: int) -> tuple[list[Account], int]:
        row = await self._run(ACCOUNTS, (), api_key, offset, limit)
        owner, born = api_key.encode(), row[1]
        found = [
            _account(row[i].decode(), owner, row[i + 1 : i + 7], (*row[i + 7 : i + 9], born))
            for i in range(2, len(row), 9)
        ]
        return found, int(row[0])

    async def usage(self, api_key: str) -> list[Usage]:
        row = await self._run(USAGE, (), api_key)
        return [
            Usage(row[i].decode(), row[i + 1].decode(), row[i + 2].decode(),
                  int(row[i + 3]), int(row[i + 4]))
            for i in range(0, len(row), 5)
        ]  # fmt: skip

    # -- the clock ----------------------------------------------------------------------------

    async def seed_clock(self, initial: ClockState) -> None:
        frozen = "" if initial.frozen_at is None else _num(initial.frozen_at)
        await self._run(SEED_CLOCK, (), frozen, _num(initial.offset_s))

    async def clock(self) -> ClockState:
        frozen, offset = await self._run(CLOCK, (self._global + "clock",))
        return _clock(frozen, offset)

    async def swap_clock(self, expected: ClockState, new: ClockState) -> bool:
        def pair(state: ClockState) -> tuple[str, str]:
            frozen = "" if state.frozen_at is None else _num(state.frozen_at)
            return frozen, _num(state.offset_s)

        return bool(await self._run(SWAP_CLOCK, (), *pair(expected), *pair(new)))

    async def swap_offset(self, api_key: str, expected: float, new: float) -> bool | None:
        swapped = await self._run(SWAP_OFFSET, (), api_key, _num(expected), _num(new))
        return None if swapped < 0 else bool(swapped)

    async def patch_tenant(self, api_key: str, changes: dict[str, int | None]) -> bool:
        fields = {"credits": "balance", "rate_limit": "rate_limit"}
        args = [v for name, value in changes.items() for v in (fields[name], _opt(value))]
        return bool(await self._run(PATCH, (), api_key, *args))

    async def set_account_status(self, account_id: str, status: str, now: str) -> bool:
        return bool(await self._run(STATUS, (), account_id, status, now))

    # -- credits, graph and rate ---------------------------------------------------------------

    async def apply(self, debit: Debit) -> Charge:
        tag = self._tag(debit.api_key)
        account = debit.account_id
        keys = (tag + "tenant", tag + "usage", f"{tag}g:{account}", f"{tag}a:{account}")
        changes = [v for c in debit.changes for v in (c.member, c.expected, c.record)]
        epoch, usage = debit.epoch or "", "1" if debit.usage else "0"
        life = "" if debit.generation is None else debit.generation
        outcome = await self._run(APPLY, keys, debit.cost, account, epoch, usage, life, *changes)
        kind = outcome[0]
        if kind == b"ok":
            return Charge(ok=True)
        if kind == b"gone":
            return Charge(ok=False, gone=True)
        if kind == b"conflict":
            return Charge(ok=False, conflict=True)
        return Charge(ok=False, balance=int(outcome[1]))

    async def graph(self, account_id: str) -> list[GraphEntry]:
        row = await self._run(GRAPH, (), account_id)
        fields = dict(zip(row[::2], row[1::2], strict=True))
        entries = [
            GraphEntry(name[2:].decode(), int(version), int(fields[b"s:" + name[2:]]),
                       fields[b"r:" + name[2:]])
            for name, version in fields.items()
            if name.startswith(b"v:")
        ]  # fmt: skip
        return sorted(entries, key=lambda e: e.seq)

    async def graph_since(self, account_id: str, after: int) -> list[GraphEntry]:
        row = await self._run(GRAPH_SINCE, (), account_id, after)
        entries = [
            GraphEntry(row[i].decode(), int(row[i + 1]), int(row[i + 2]), row[i + 3])
            for i in range(0, len(row), 4)
        ]
        return sorted(entries, key=lambda e: e.seq)

    async def hit_rate(
        self, api_key: str, limit: int, window_s: float, now: float, generation: int | None = None
    ) -> RateHit:
        tag = self._tag(api_key)
        life = "" if generation is None else generation
        start, count = await self._run(
            HIT_RATE, (tag + "rate", tag + "tenant"), _num(now), _num(window_s), life
        )
        retry_after = max(1, math.ceil(float(start) + window_s - now))
        return RateHit(allowed=int(count) <= limit, retry_after=retry_after)

    # -- journal ------------------------------------------------------------------------------

    async def record(self, entry: JournalEntry, bound: int, generation: int | None = None) -> None:
        """The row is in Redis when this returns. Rows recorded while another write of this
        loop is on go together in the next one (a group commit): under load, one round trip
        writes many calls' rows."""
        loop = asyncio.get_running_loop()
        rows = self._rows.get(loop)
        if rows is None:
            rows = self._rows[loop] = _Rows()
        account = NO_ACCOUNT if entry.account_id is None else _digest(entry.account_id)
        rows.keys.append(self._journal_key(entry.api_key))
        life = "" if generation is None or entry.api_key is None else generation
        rows.args += [account, orjson.dumps(entry), life]
        if rows.done is None:
            rows.done = loop.create_future()
        done = rows.done
        if not rows.writing:
            await self._write_rows(rows, bound)
        await done

    async def _write_rows(self, rows: _Rows, bound: int) -> None:
        """Write the waiting rows, batch after batch, until none is left."""
        rows.writing = True
        try:
            while rows.keys:
                keys, args, done = rows.keys, rows.args, rows.done
                rows.keys, rows.args, rows.done = [], [], None
                counters = (self._global + "journal_id", self._global + "journals")
                try:
                    await self._run(RECORD, (*counters, *keys), bound, *args)
                except redis.RedisError as error:
                    # The requests were answered already (a 500, if Redis failed them too):
                    # their rows are lost with Redis, and nothing else must fail for it.
                    log.warning(f"{len(keys)} journal row(s) lost: {error}")
                finally:
                    if done is not None and not done.done():
                        done.set_result(None)
        finally:
            rows.writing = False
            pending = rows.done
            if pending is not None and not pending.done():
                # Left early (cancelled): the rows that came meanwhile are dropped, and their
                # callers freed, rather than left waiting for a write nobody makes.
                log.warning(f"{len(rows.keys)} journal row(s) lost: the write was cancelled")
                rows.keys, rows.args, rows.done = [], [], None
                pending.set_result(None)

    async def journal(
        self, api_key: str | None, account_id: str | None, limit: int
    ) -> tuple[list[tuple[int, JournalEntry]], int]:
        merged = api_key is None
        key = self._global + "journals" if merged else self._journal_key(api_key)
        account = "" if account_id is None else _digest(account_id)
        row = await self._run(JOURNAL, (key,), "1" if merged else "0", account, limit)
        rows = [(int(r[:16]), JournalEntry(**orjson.loads(r[56:]))) for r in row[1:]]
        return rows, int(row[0])

    # -- faults -------------------------------------------------------------------------------

    @staticmethod
    def _rules(row: Sequence[bytes]) -> list[FaultRule]:
        return [
            FaultRule(fault_id(int(row[i])), FaultSpec.model_validate_json(row[i + 1]),
                      int(row[i + 2]), _int(row[i + 3]))
            for i in range(0, len(row), 4)
        ]  # fmt: skip

    async def fault_add(self, spec: FaultSpec) -> FaultRule:
        match = spec.match
        pairs = [("key", match.api_key), ("acc", match.account_id), ("act", match.action)]
        present = [v for name, value in pairs if value is not None for v in (name, value)]
        number = await self._run(FAULT_ADD, (), spec.model_dump_json(), _opt(spec.times), *present)
        return FaultRule(fault_id(int(number)), spec, 0, spec.times)

    async def faults(self, api_key: str | None) -> list[FaultRule]:
        return self._rules(await self._run(FAULTS, (), api_key or ""))

    async def fault_delete(self, fault_id: str | None, api_key: str | None) -> int:
        if fault_id is not None:
            number = fault_number(fault_id)
            if number is None:
                return 0
            return int(await self._run(FAULT_DELETE, (), "one", number))
        if api_key is not None:
            return int(await self._run(FAULT_DELETE, (), "key", api_key))
        return int(await self._run(FAULT_DELETE, (), "all", ""))

    async def fault_hits(self, api_key: str, account_id: str | None, action: str) -> list[FaultHit]:
        named = "0" if account_id is None else "1"
        row = await self._run(FAULT_HITS, (), api_key, account_id or "", action, named)
        return [FaultHit(rule, rule.matched) for rule in self._rules(row)]

    # -- reset --------------------------------------------------------------------------------

    async def reset(self, api_key: str | None) -> bool:
        if api_key is None:
            return bool(await self._run(RESET_ALL, (), _glob(self.prefix)))
        return bool(await self._run(RESET_ONE, (), api_key))

    async def problem(self) -> str | None:
        try:
            await (await self._client()).ping()
        except redis.RedisError as error:
            return f"Redis does not answer: {error}"
        return None

    async def close(self) -> None:
        """Close this loop's client now; other loops' close theirs when they shut down."""
        loop = asyncio.get_running_loop()
        with self._lock:
            keeper = self._keepers.get(loop)
            others = [(lp, k) for lp, k in self._keepers.items() if lp is not loop]
        if keeper is not None:
            await keeper.aclose()
        for other, their in others:
            if other.is_running():
                asyncio.run_coroutine_threadsafe(their.aclose(), other)
