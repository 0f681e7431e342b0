"""The v2 check order of SPEC §1.4, written straight-line, and the table of supported actions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import orjson

from app import envelope, faults, recommendations
from app.errors import (
    MSG_ACCOUNT_INACTIVE,
    MSG_INSUFFICIENT_CREDITS,
    MSG_INVALID_ACCOUNT,
    MSG_INVALID_ACTION,
    MSG_INVALID_API_KEY,
    MSG_RATE_LIMITED,
    AccountInactive,
    InsufficientCredits,
    InvalidAccount,
    InvalidAction,
    InvalidApiKey,
    InvalidParams,
    RateLimited,
    injected,
)
from app.generator import PeopleGenerator
from app.models import parse_whole
from app.settings import Settings
from app.store import Account, Lookup, Store

MAX_BODY = 64 * 1024
RATE_WINDOW_S = 60.0
LIST_LIMIT_MAX = 500
OFFSET_MAX = 1_000_000_000  # SQLite integers are 64-bit; the bound keeps huge offsets a 400


@dataclass(slots=True)
class Trace:
    """What one request turned out to be, for the error envelope, the journal, logs and metrics."""

    action: str
    api_key: str | None = None
    account_id: str | None = None
    credits: int = 0
    injected: bool = False


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


# The v2 routes by template, with the action name their errors carry before a body is read.
ROUTE_ACTIONS = {
    "/v2/network": "network",
    "/v2/credits": "get_credits",
    "/v2/accounts": "list_accounts",
    "/v2/accounts/{account_id}": "get_account",
}


def route_template(path: str) -> str | None:
    if path in ROUTE_ACTIONS:
        return path
    account_id = path.removeprefix("/v2/accounts/")
    if account_id != path and account_id and "/" not in account_id:
        return "/v2/accounts/{account_id}"
    return None


def route_action(path: str) -> str:
    """The route's own action name, for errors raised before any body was read."""
    return ROUTE_ACTIONS.get(route_template(path) or "", "unknown")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class Emulator:
    """The v2 API's behaviour over a store and a generator; routes only translate HTTP to it."""

    def __init__(self, settings: Settings, store: Store, generator: PeopleGenerator) -> None:
        self.settings = settings
        self.store = store
        self.generator = generator

    # -- steps 1, 1a and 2, shared by every v2 route ----------------------------------------

    async def _gate(self, trace: Trace, headers: Mapping[str, str]) -> Lookup:
        api_key = headers.get("x-api-key", "")
        found = self.store.lookup(api_key, trace.account_id) if api_key.strip() else None
        if found is None:
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        trace.api_key = api_key

        injection = faults.from_headers(headers)
        if injection.error is None and found.faults:  # a forced error by header skips the rules
            hits = self.store.fault_hits(api_key, trace.account_id, trace.action)
            injection = faults.combine(self.settings.seed, injection, hits)
        if injection.delay_ms:
            await asyncio.sleep(injection.delay_ms / 1000)
        if injection.error is not None:
            trace.injected = True
            raise injected(injection.error, injection.source)

        tenant = found.tenant
        limit = self.settings.rate_limit if tenant.rate_limit is None else tenant.rate_limit
        if limit:
            hit = self.store.hit_rate(api_key, limit, RATE_WINDOW_S, time.time())
            if not hit.allowed:
                raise RateLimited(
                    MSG_RATE_LIMITED.format(limit=limit, retry_after=hit.retry_after),
                    retry_after=hit.retry_after,
                )
        return found

    def _account(self, found: Lookup, account_id: str) -> Account:
        """The account the gate read, if this key owns it."""
        account = found.account
        if account is None or account.api_key != found.tenant.api_key:
            raise InvalidAccount(MSG_INVALID_ACCOUNT.format(account_id=_short(account_id)))
        return account

    # -- POST /v2/network ---------------------------------------------------------------------

    async def network(self, trace: Trace, headers: Mapping[str, str], raw: bytes | None) -> bytes:
        body = Body.parse(raw)
        action, account_id = body.field("action"), body.field("account_id")
        if isinstance(action, str):
            trace.action = action
        if isinstance(account_id, str):
            trace.account_id = account_id

        found = await self._gate(trace, headers)  # 1, 1a, 2
        if body.problem:  # 3
            raise InvalidParams(body.problem)
        if not isinstance(account_id, str) or not account_id:
            raise InvalidParams("account_id is required and must be a non-empty string")
        if not isinstance(action, str):
            raise InvalidParams("action is required and must be a string")
        run = ACTIONS.get(action)
        if run is None:  # 4
            raise InvalidAction(
                MSG_INVALID_ACTION.format(
                    action=_short(action), route="/v2/network", supported=", ".join(ACTIONS)
                )
            )
        account = self._account(found, account_id)  # 5
        if account.status != "active":  # 6
            raise AccountInactive(MSG_ACCOUNT_INACTIVE.format(account_id=_short(account_id)))
        data, cost = run(self, account, body.field("params", {}))  # 7
        # 8; a call that returns nobody costs 0 but is still recorded as a call
        charge = self.store.charge(account.api_key, account.account_id, action, cost)
        if charge.gone:  # the tenant was reset away while this call was in flight
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        if not charge.ok:
            raise InsufficientCredits(
                MSG_INSUFFICIENT_CREDITS.format(
                    cost=cost, credits="credit" if cost == 1 else "credits", balance=charge.balance
                )
            )
        trace.credits = cost
        return envelope.success(data, action=action, account_id=account_id, credits=cost)

    def _recommendations(self, account: Account, params: object) -> tuple[envelope.Json, int]:
        plan = recommendations.parse(params)
        n = recommendations.returned(plan, account)
        return recommendations.data(self.generator, account, n), recommendations.cost(n)

    # -- GET /v2/credits, /v2/accounts, /v2/accounts/{account_id} ------------------------------

    async def credits(self, trace: Trace, headers: Mapping[str, str]) -> bytes:
        found = await self._gate(trace, headers)
        data = orjson.dumps({"credits": found.tenant.balance})
        return envelope.success(data, action=trace.action, account_id=None, credits=0)

    async def list_accounts(
        self, trace: Trace, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers)
        limit = _query_int(query, "limit", 50, 1, LIST_LIMIT_MAX)
        offset = _query_int(query, "offset", 0, 0, OFFSET_MAX)
        items, total = self.store.accounts(found.tenant.api_key, limit, offset)
        data = {"items": [account_item(a) for a in items], "total": total}
        data |= {"limit": limit, "offset": offset}
        return envelope.success(orjson.dumps(data), action=trace.action, account_id=None, credits=0)

    async def get_account(self, trace: Trace, headers: Mapping[str, str], account_id: str) -> bytes:
        trace.account_id = account_id
        found = await self._gate(trace, headers)
        account = self._account(found, account_id)
        data = orjson.dumps(account_item(account))
        return envelope.success(data, action=trace.action, account_id=account_id, credits=0)


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


ActionRun = Callable[[Emulator, Account, object], tuple[envelope.Json, int]]
ACTIONS: dict[str, ActionRun] = {"recommendations": Emulator._recommendations}
