"""The v2 API's behaviour: the check order, written straight-line, over a store and actions.

Routes translate HTTP to these methods and know nothing of the rules; this module knows
nothing of URLs. Every error is an ApiError raised in the documented order (README, "The
emulated contract"): key, injected faults, rate limit, body, action, account, status, params,
the graph's refusals, credits.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import orjson

from linkup_emulator import envelope, faults
from linkup_emulator.actions import ACTIONS, Action, Context
from linkup_emulator.clock import EmulatedClock
from linkup_emulator.errors import (
    MSG_ACCOUNT_INACTIVE,
    MSG_INSUFFICIENT_CREDITS,
    MSG_INVALID_ACCOUNT,
    MSG_INVALID_ACTION,
    MSG_INVALID_API_KEY,
    MSG_RATE_LIMITED,
    AccountInactive,
    InsufficientCredits,
    InternalError,
    InvalidAccount,
    InvalidAction,
    InvalidApiKey,
    InvalidParams,
    RateLimited,
    injected,
)
from linkup_emulator.generator import PeopleGenerator
from linkup_emulator.models import parse_whole
from linkup_emulator.network import Graph, GraphEvent
from linkup_emulator.store import Account, Change, Debit, JournalEntry, Lookup, Store, Tenant

T = TypeVar("T")

MAX_BODY = 64 * 1024
# What GET /v2/credits shows an unmetered key (fixture credits: null) that sets no
# display_credits: a balance that never goes down, as on the vendor's per-seat plans. Clients
# check for a number; the stored balance stays null.
UNMETERED_CREDITS = 1_000_000
RATE_WINDOW_S = 60.0
LIST_LIMIT_MAX = 500
OFFSET_MAX = 1_000_000_000  # SQLite integers are 64-bit; the bound keeps huge offsets a 400
# A plan re-made this often still finding its members changed means a storm of calls on
# them; the call then fails rather than spin (an action's own refusals end it sooner). Each
# round lets at least one of the racing calls through, so N calls on one account's busiest
# member (its weekly invitation count) all finish within N rounds.
MAX_REPLANS = 32
# Accounts whose graphs a process keeps read (each is its stored changes, decoded on use).
GRAPH_CACHE = 256


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings the core obeys, and nothing else of the process's configuration."""

    seed: str
    rate_limit: int  # requests per minute of a key without its own; 0: no limit
    journal_size: int

    def rate_limit_of(self, tenant: Tenant) -> int:
        return self.rate_limit if tenant.rate_limit is None else tenant.rate_limit


@dataclass(frozen=True, slots=True)
class Gate:
    """What passed the gate: the key's tenant, the named account (whoever owns it), and the
    request's emulated time."""

    tenant: Tenant
    account: Account | None
    now: float


@dataclass(slots=True)
class Trace:
    """What one request turned out to be, for the error envelope, the journal, logs and metrics."""

    action: str
    api_key: str | None = None
    account_id: str | None = None
    credits: int = 0
    injected: bool = False
    now: float | None = None  # the request's emulated time, once its tenant is known
    generation: int | None = None  # the tenant's life the call read (store/base.py Tenant)


@dataclass(frozen=True, slots=True)
class Body:
    """The request body as read: a JSON value, or the reason it could not be one."""

    value: object = None
    problem: str | None = None

    @classmethod
    def parse(cls, raw: bytes | None) -> Body:
        if raw is None:
            return cls(problem=f"body is larger than {MAX_BODY // 1024} KiB")
        if not raw.strip():
            return cls(problem="body is empty; send a JSON object")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            # orjson says what and where: "unexpected end of data: line 1 column 6 (char 5)"
            return cls(problem=f"body is not valid JSON (UTF-8): {error}")
        if not isinstance(value, dict):
            return cls(problem="body must be a JSON object")
        return cls(value)

    def field(self, name: str, default: object = None) -> object:
        return self.value.get(name, default) if isinstance(self.value, dict) else default


_NO_QUERY: Mapping[str, str] = {}


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _params(action: Action, params: object) -> dict[str, object]:
    """`params` as an object holding only the action's own keys (a v1 name such as
    `total_results` is a client bug worth naming)."""
    takes = ", ".join(action.params)
    if not isinstance(params, dict):
        raise InvalidParams(f"params must be a JSON object; {action.name} takes: {takes}")
    for key in params:
        if key not in action.params:
            raise InvalidParams(
                f"params.{str(key)[:60]} is not a parameter of {action.name}; it takes: {takes}"
            )
    return params


class Emulator:
    """The v2 API over a store, a generator and a clock."""

    def __init__(
        self, policy: Policy, store: Store, generator: PeopleGenerator, clock: EmulatedClock
    ) -> None:
        self.policy = policy
        self.store = store
        self.generator = generator
        self.clock = clock
        self._graphs: OrderedDict[str, Graph] = OrderedDict()

    # -- steps 1, 1a and 2, shared by every v2 route ----------------------------------------

    async def check_key(self, trace: Trace, headers: Mapping[str, str]) -> Lookup:
        """Step 1 alone: the key's tenant (and the trace's account), or 403. Every path under
        /v2 takes it first, known or not, as the real service does."""
        api_key = headers.get("x-api-key", "")
        if not api_key.strip():
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        found = await self.store.lookup(api_key, trace.account_id)
        self.clock.observe(found.clock)
        tenant = found.tenant
        if tenant is None:
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        trace.api_key = api_key
        trace.generation = tenant.generation
        trace.now = self.clock.now(tenant.clock_offset)
        return found

    async def _gate(self, trace: Trace, headers: Mapping[str, str]) -> Gate:
        found = await self.check_key(trace, headers)
        tenant, now = found.tenant, trace.now
        assert tenant is not None  # check_key refused the key otherwise
        assert now is not None
        api_key = tenant.api_key

        injection = faults.from_headers(headers)
        if injection.error is None and found.faults:  # a forced error by header skips the rules
            hits = await self.store.fault_hits(api_key, trace.account_id, trace.action)
            injection = faults.combine(self.policy.seed, injection, hits)
        if injection.delay_ms:
            await asyncio.sleep(injection.delay_ms / 1000)
        if injection.error is not None:
            trace.injected = True
            raise injected(injection.error, injection.source)

        limit = self.policy.rate_limit_of(tenant)
        if limit:
            hit = await self.store.hit_rate(
                api_key, limit, RATE_WINDOW_S, now, generation=tenant.generation
            )
            if not hit.allowed:
                raise RateLimited(
                    MSG_RATE_LIMITED.format(limit=limit, retry_after=hit.retry_after),
                    retry_after=hit.retry_after,
                )
        return Gate(tenant, found.account, now)

    def _account(self, found: Gate, account_id: str) -> Account:
        """The account the gate read, if this key owns it."""
        account = found.account
        if account is None or account.api_key != found.tenant.api_key:
            raise InvalidAccount(MSG_INVALID_ACCOUNT.format(account_id=_short(account_id)))
        return account

    def _success(self, data: envelope.Json, trace: Trace, account_id: str | None) -> bytes:
        return envelope.success(
            data,
            action=trace.action,
            account_id=account_id,
            credits=trace.credits,
            now=self.clock.now() if trace.now is None else trace.now,
        )

    async def graph(self, account: Account, *, fresh: bool = False) -> Graph:
        """The account's graph as the store has it: this process's copy, brought up to date
        with the changes stored since it last read (none, most calls: the lookup said how far
        the graph has come). `fresh`: ask the store even so (a plan met a conflict)."""
        graphs = self._graphs
        cached = graphs.get(account.account_id)
        if cached is None or cached.epoch != account.epoch:
            cached = Graph.of(self.policy.seed, account, self.generator)
            graphs[account.account_id] = cached
            fresh = True
        else:
            graphs.move_to_end(account.account_id)
            cached.account = account
        if fresh or account.graph_seq > cached.seq:
            cached.update(await self.store.graph_since(account.account_id, cached.seq))
        while len(graphs) > GRAPH_CACHE:
            graphs.popitem(last=False)
        return cached

    async def change_graph(
        self, account_id: str, decide: Callable[[Graph, float], tuple[tuple[Change, ...], T]]
    ) -> T | None:
        """A control-plane change of an account's graph at its owner's time: `decide` reads the
        graph and returns the changes and an answer (or raises); applied atomically, decided
        again when the graph changed meanwhile. None: no account has this id."""
        for attempt in range(MAX_REPLANS):
            account = await self.store.account(account_id)
            if account is None:
                return None
            now = await self.now(account.api_key)
            assert now is not None
            graph = await self.graph(account, fresh=attempt > 0)
            changes, answer = decide(graph, now)
            debit = Debit(account.api_key, account_id, "control", 0, changes, account.epoch, False)
            charge = await self.store.apply(debit)
            if charge.ok:
                return answer
        raise InternalError(f"account '{_short(account_id)}' kept changing during the call")

    async def graph_events(self, account_id: str, start: float, end: float) -> list[GraphEvent]:
        """What the other side did in the account's graph in (start, end] of its emulated
        time: fates that accepted, control-plane acceptances and arrivals (for webhooks)."""
        account = await self.store.account(account_id)
        if account is None:
            return []
        return (await self.graph(account, fresh=True)).events(start, end)

    async def now(self, api_key: str | None = None) -> float | None:
        """The emulated time as the store has it now: global, or a tenant's (None when no
        tenant has the key)."""
        self.clock.observe(await self.store.clock())
        if api_key is None:
            return self.clock.now()
        tenant = await self.store.tenant(api_key)
        return None if tenant is None else self.clock.now(tenant.clock_offset)

    # -- POST /v2/network ---------------------------------------------------------------------

    async def network(
        self,
        trace: Trace,
        headers: Mapping[str, str],
        raw: bytes | None,
        query: Mapping[str, str] = _NO_QUERY,
    ) -> bytes:
        body = Body.parse(raw)
        name, account_id = body.field("action"), body.field("account_id")
        if isinstance(name, str):
            trace.action = name
        if isinstance(account_id, str):
            trace.account_id = account_id

        found = await self._gate(trace, headers)  # 1, 1a, 2
        _no_unknown_query(query, "network", ())  # 3
        if body.problem:
            raise InvalidParams(body.problem)
        if not isinstance(account_id, str) or not account_id:
            raise InvalidParams("account_id is required and must be a non-empty string")
        if not isinstance(name, str):
            raise InvalidParams("action is required and must be a string")
        action = ACTIONS.get(name)
        if action is None:  # 4
            raise InvalidAction(
                MSG_INVALID_ACTION.format(action=_short(name), supported=", ".join(ACTIONS))
            )
        account = self._account(found, account_id)  # 5
        if account.status != "active":  # 6
            raise AccountInactive(MSG_ACCOUNT_INACTIVE.format(account_id=_short(account_id)))
        params = _params(action, body.field("params", {}))  # 7

        epoch = account.epoch if action.reads_graph else None
        for attempt in range(MAX_REPLANS):
            graph = await self.graph(account, fresh=attempt > 0) if action.reads_graph else None
            # 7b: the action's own refusals; a plan read from a graph another call has since
            # changed is made again from the new one.
            plan = action.plan(Context(account, self.generator, found.now, graph), params)
            debit = Debit(
                account.api_key,
                account_id,
                name,
                plan.cost,
                plan.changes,
                epoch,
                generation=found.tenant.generation,
            )
            charge = await self.store.apply(debit)  # 8, with the plan's changes, atomically
            if not charge.conflict:
                break
        else:
            raise InternalError(f"account '{_short(account_id)}' kept changing during the call")
        if charge.gone:  # the tenant was reset away while this call was in flight
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        if not charge.ok:
            raise InsufficientCredits(
                MSG_INSUFFICIENT_CREDITS.format(
                    cost=plan.cost,
                    credits="credit" if plan.cost == 1 else "credits",
                    balance=charge.balance,
                )
            )
        trace.credits = plan.cost
        return self._success(plan.data, trace, account_id)

    # -- GET /v2/credits, /v2/accounts, /v2/accounts/{account_id} ------------------------------

    async def credits(
        self, trace: Trace, headers: Mapping[str, str], query: Mapping[str, str] = _NO_QUERY
    ) -> bytes:
        found = await self._gate(trace, headers)
        _no_unknown_query(query, "get_credits", ())
        tenant = found.tenant
        shown = tenant.balance
        if shown is None:  # unmetered: always a number (SPEC 1.3), never spent
            shown = UNMETERED_CREDITS if tenant.display_credits is None else tenant.display_credits
        return self._success(orjson.dumps({"credits": shown}), trace, None)

    async def list_accounts(
        self, trace: Trace, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers)
        _no_unknown_query(query, "list_accounts", ("limit", "offset"))
        limit = _query_int(query, "limit", 50, 1, LIST_LIMIT_MAX)
        offset = _query_int(query, "offset", 0, 0, OFFSET_MAX)
        items, total = await self.store.accounts(found.tenant.api_key, limit, offset)
        data = {"items": [account_item(a) for a in items], "total": total}
        data |= {"limit": limit, "offset": offset}
        return self._success(orjson.dumps(data), trace, None)

    async def get_account(
        self,
        trace: Trace,
        headers: Mapping[str, str],
        account_id: str,
        query: Mapping[str, str] = _NO_QUERY,
    ) -> bytes:
        trace.account_id = account_id
        found = await self._gate(trace, headers)
        _no_unknown_query(query, "get_account", ())
        account = self._account(found, account_id)
        return self._success(orjson.dumps(account_item(account)), trace, account_id)

    # -- the journal ----------------------------------------------------------------------------

    async def record(
        self,
        trace: Trace,
        *,
        method: str,
        path: str,
        status: int,
        code: str | None,
        duration_ms: float,
        request_id: str,
    ) -> JournalEntry:
        """One answered v2 request into the journal, at its emulated time."""
        entry = JournalEntry(
            time=envelope.stamp(self.clock.now() if trace.now is None else trace.now),
            method=method,
            path=path,
            api_key=trace.api_key,
            account_id=trace.account_id,
            action=trace.action,
            status=status,
            code=code,
            credits=trace.credits,
            duration_ms=duration_ms,
            injected=trace.injected,
            request_id=request_id,
        )
        await self.store.record(entry, self.policy.journal_size, generation=trace.generation)
        return entry


def _no_unknown_query(query: Mapping[str, str], action: str, takes: tuple[str, ...]) -> None:
    """Query parameters are as strict as `params` (SPEC 1.3): a name the route does not
    document is a client bug (`count` where `limit` is meant), not something to ignore."""
    for name in query:
        if name not in takes:
            documented = f"it takes: {', '.join(takes)}" if takes else "it takes none"
            raise InvalidParams(
                f"query parameter '{_short(str(name), 60)}' is not a parameter of {action};"
                f" {documented}"
            )


def _query_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = parse_whole(raw, low, high)
    if value is None:
        raise InvalidParams(f"{name} must be an integer from {low} to {high}")
    return value


def account_item(account: Account) -> dict[str, object]:
    """An account as GET /v2/accounts shows it."""
    return {
        "account_id": account.account_id,
        "platform": "linkedin",
        "account_name": account.account_name,
        "is_active": account.status == "active",
        "status": account.status,
        "country": account.country,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }
