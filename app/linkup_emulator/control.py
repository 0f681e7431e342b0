"""The control plane's behaviour (/_emulator): tenants, reset, the journal, fault rules, the
clock and accounts' networks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from linkup_emulator import envelope
from linkup_emulator.actions import lists, recommendations
from linkup_emulator.actions.base import Context, Plan
from linkup_emulator.actions.params import MAX_OFFSET
from linkup_emulator.clock import LATEST, ClockState, format_instant, parse_instant
from linkup_emulator.emulator import MAX_BODY, Emulator, account_item
from linkup_emulator.errors import ApiError, CodedError
from linkup_emulator.generator import people
from linkup_emulator.generator.people import PROFILE_URL
from linkup_emulator.models import (
    AccountPatch,
    Arrival,
    ClockMove,
    FaultSpec,
    InvitationAnswer,
    TenantPatch,
    TenantSpec,
    first_problem,
    parse_whole,
)
from linkup_emulator.network import CONNECTED, NONE, SENT, Graph, Record
from linkup_emulator.network import graph as network
from linkup_emulator.network.invitations import URN
from linkup_emulator.network.members import vanity_of_url
from linkup_emulator.store import Account, Change, FaultRule

JOURNAL_LIMIT_MAX = 10_000


class ControlError(CodedError):
    """Plain JSON {"error": {"code", "message"}}: the control plane is not the vendor's API."""

    code = "INVALID_PARAMS"
    status = 400


class Unauthorized(ControlError):
    code = "UNAUTHORIZED"
    status = 401


class Missing(ControlError):
    code = "NOT_FOUND"
    status = 404


class Conflict(ControlError):
    code = "CONFLICT"
    status = 409


class WrongMethod(ControlError):
    code = "METHOD_NOT_ALLOWED"
    status = 405


def mask(api_key: str | None) -> str | None:
    """All but the last 4 characters hidden, so keys never show in full outside the store."""
    if api_key is None:
        return None
    shown = api_key[-4:] if len(api_key) > 4 else ""
    return "*" * (len(api_key) - len(shown)) + shown


KEY_PATHS = ("/_emulator/keys/",)


def masked_path(path: str) -> str:
    """A request path with the api key in it masked (GET/PATCH /_emulator/keys/{key}), for
    the access log."""
    for prefix in KEY_PATHS:
        if path.startswith(prefix):
            key, slash, rest = path[len(prefix) :].partition("/")
            return prefix + (mask(key) or "") + slash + rest
    return path


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], raw: bytes | None) -> Model:
    if raw is None:
        raise ControlError(f"body is larger than {MAX_BODY // 1024} KiB")
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        loc, message = first_problem(exc)
        where = ".".join(str(part) for part in loc) or "body"
        raise ControlError(f"{where}: {message}") from exc


async def report(emulator: Emulator, api_key: str) -> dict[str, object]:
    tenant = await emulator.store.tenant(api_key)
    if tenant is None:
        raise Missing("no tenant has this api_key")
    limit = emulator.policy.rate_limit_of(tenant)
    return {
        "api_key": mask(api_key),
        "credits": {"balance": tenant.balance, "consumed": tenant.consumed},
        "rate_limit": limit,
        "accounts": [
            {
                "account_id": use.account_id,
                "status": use.status,
                "country": use.country,
                "calls": use.calls,
                "credits_consumed": use.credits,
            }
            for use in await emulator.store.usage(api_key)
        ],
    }


async def tenants(emulator: Emulator) -> list[tuple[str, dict[str, object]]]:
    """Every tenant's key and report, keys sorted (the dashboard's first page); a tenant reset
    away between the two reads is left out."""
    found = []
    for api_key in await emulator.store.api_keys():
        try:
            found.append((api_key, await report(emulator, api_key)))
        except Missing:
            continue
    return found


async def create_tenant(emulator: Emulator, raw: bytes | None) -> dict[str, object]:
    spec = parse(TenantSpec, raw)
    if not await emulator.store.create_tenant(spec, born=await emulator.now()):
        raise Conflict("this api_key or one of its account_id values exists already")
    return await report(emulator, spec.api_key)


async def patch_tenant(emulator: Emulator, api_key: str, raw: bytes | None) -> dict[str, object]:
    patch = parse(TenantPatch, raw)
    changes = {field: getattr(patch, field) for field in patch.model_fields_set}
    if not await emulator.store.patch_tenant(api_key, changes):
        raise Missing("no tenant has this api_key")
    return await report(emulator, api_key)


async def patch_account(
    emulator: Emulator, account_id: str, raw: bytes | None
) -> dict[str, object]:
    patch = parse(AccountPatch, raw)
    account = await emulator.store.account(account_id)
    if account is None:
        raise Missing("no account has this account_id")
    # Its owner's time: a tenant whose clock runs ahead sees the change at its own now.
    now = await emulator.now(account.api_key) or await emulator.now()
    assert now is not None
    if not await emulator.store.set_account_status(account_id, patch.status, envelope.stamp(now)):
        raise Missing("no account has this account_id")  # reset away meanwhile
    changed = await emulator.store.account(account_id)
    assert changed is not None
    return account_item(changed)


async def reset(emulator: Emulator, api_key: str | None) -> dict[str, object]:
    if not await emulator.store.reset(api_key):
        raise Missing("no tenant has this api_key")
    return {"reset": "all" if api_key is None else "tenant", "api_key": mask(api_key)}


async def journal(
    emulator: Emulator,
    query: Mapping[str, str],
    key_view: Callable[[str | None], object] = mask,
) -> dict[str, object]:
    """The journal, newest first; each row's key as `key_view` shows it (masked; the dashboard
    adds its tenant link)."""
    limit = parse_whole(query.get("limit", "100"), 1, JOURNAL_LIMIT_MAX)
    if limit is None:
        raise ControlError(f"limit must be an integer from 1 to {JOURNAL_LIMIT_MAX}")
    rows, total = await emulator.store.journal(query.get("api_key"), query.get("account_id"), limit)
    items = [
        {
            "id": rowid,
            "time": entry.time,
            "method": entry.method,
            "path": entry.path,
            "api_key": key_view(entry.api_key),
            "account_id": entry.account_id,
            "action": entry.action,
            "status": entry.status,
            "code": entry.code,
            "credits": entry.credits,
            "duration_ms": entry.duration_ms,
            "injected": entry.injected,
            "request_id": entry.request_id,
        }
        for rowid, entry in rows
    ]
    return {"items": items, "total": total}


def fault_item(rule: FaultRule) -> dict[str, object]:
    """A rule as the control plane shows it: its match's api_key masked, as everywhere."""
    item: dict[str, Any] = rule.spec.model_dump(mode="json")
    match = item.get("match")
    if isinstance(match, dict) and match.get("api_key") is not None:
        match["api_key"] = mask(match["api_key"])
    return {"id": rule.id, **item, "matched": rule.matched}


# Every v2 call is matched against the rules of its key and the rules of no key: caps keep
# that work (and a scan of GET /_emulator/faults) small whatever a client adds.
MAX_FAULTS = 1000
MAX_FAULTS_PER_KEY = 100


async def add_fault(emulator: Emulator, raw: bytes | None) -> dict[str, object]:
    spec = parse(FaultSpec, raw)
    rules = await emulator.store.faults(None)
    if len(rules) >= MAX_FAULTS:
        raise Conflict(f"there are {MAX_FAULTS} fault rules already, the most kept; delete some")
    key = spec.match.api_key
    if key is not None and sum(r.spec.match.api_key == key for r in rules) >= MAX_FAULTS_PER_KEY:
        raise Conflict(
            f"this api_key has {MAX_FAULTS_PER_KEY} fault rules already, the most kept per key;"
            " delete some"
        )
    return fault_item(await emulator.store.fault_add(spec))


def _key_filter(api_key: str | None) -> str | None:
    if api_key == "":
        raise ControlError("api_key, when given, must not be empty")
    return api_key


async def list_faults(emulator: Emulator, api_key: str | None) -> dict[str, object]:
    rules = await emulator.store.faults(_key_filter(api_key))
    return {"items": [fault_item(rule) for rule in rules]}


async def delete_faults(
    emulator: Emulator, fault_id: str | None, api_key: str | None = None
) -> dict[str, object]:
    deleted = await emulator.store.fault_delete(fault_id, _key_filter(api_key))
    if fault_id is not None and not deleted:
        raise Missing(f"no fault rule has the id '{fault_id[:40]}'")
    return {"deleted": deleted}


# -- the clock ------------------------------------------------------------------------------

# A move lost to another one this often in a row is reported rather than tried forever.
CLOCK_SWAPS = 16


async def clock_view(emulator: Emulator, api_key: str | None) -> dict[str, object]:
    """The global clock, or a tenant's: its time, whether the (global) clock is frozen, and
    the offset: the global clock's from real time, or the tenant's from the global clock."""
    api_key = _key_filter(api_key)
    state = await emulator.store.clock()
    emulator.clock.observe(state)
    wall = emulator.clock.wall.now()
    now = state.now(wall)
    frozen = state.frozen_at is not None
    if api_key is None:
        return {"now": format_instant(now), "frozen": frozen, "offset_s": round(now - wall, 3)}
    tenant = await emulator.store.tenant(api_key)
    if tenant is None:
        raise Missing("no tenant has this api_key")
    offset = tenant.clock_offset
    return {"now": format_instant(now + offset), "frozen": frozen, "offset_s": round(offset, 3)}


def _forward(target: float, now: float) -> float:
    if target < now:
        raise ControlError(
            f"set: {format_instant(target)} is before the clock's now, {format_instant(now)}:"
            " time only moves forward (a reset puts it back)"
        )
    if target > LATEST:
        raise ControlError("the clock can't move past 9999-12-31T23:59:59Z")
    return target


def _global_move(move: ClockMove, state: ClockState, wall: float) -> ClockState:
    now = state.now(wall)
    if move.freeze is not None:
        if move.freeze:
            return state if state.frozen_at is not None else ClockState(frozen_at=now)
        return ClockState(offset_s=now - wall) if state.frozen_at is not None else state
    target = _forward(_target(move, now), now)
    if state.frozen_at is not None:
        return ClockState(frozen_at=target)
    return ClockState(offset_s=target - wall)


def _target(move: ClockMove, now: float) -> float:
    """Where an advance or a set takes a clock that reads `now`."""
    return parse_instant(move.set) if move.set is not None else now + (move.advance_s or 0)


async def move_clock(
    emulator: Emulator, api_key: str | None, raw: bytes | None
) -> dict[str, object]:
    """Advance, set or freeze the global clock; with an api_key, advance or set that tenant's
    time alone (its offset over the global clock)."""
    api_key = _key_filter(api_key)
    move = parse(ClockMove, raw)
    if api_key is not None and move.freeze is not None:
        raise ControlError(
            "freeze is global (it stops every tenant's time): leave out api_key;"
            " a tenant's time moves with advance_s or set"
        )
    store = emulator.store
    for _ in range(CLOCK_SWAPS):
        state = await store.clock()
        wall = emulator.clock.wall.now()
        if api_key is None:
            if await store.swap_clock(state, _global_move(move, state, wall)):
                break
            continue
        tenant = await store.tenant(api_key)
        if tenant is None:
            raise Missing("no tenant has this api_key")
        now, offset = state.now(wall), tenant.clock_offset
        target = _forward(_target(move, now + offset), now + offset)
        swapped = await store.swap_offset(api_key, offset, target - now)
        if swapped is None:
            raise Missing("no tenant has this api_key")
        if swapped:
            break
    else:
        raise Conflict("the clock kept being moved by other calls; try again")
    return await clock_view(emulator, api_key)


# -- an account's network (SPEC 2.2) ------------------------------------------------------------


def _member(graph: Graph, vanity: str) -> dict[str, object]:
    person = graph.person(vanity)
    return {
        "name": person.name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "headline": person.headline,
        "profile_url": PROFILE_URL + vanity,
        "profile_picture": person.picture,
    }


async def owned_graph(emulator: Emulator, account_id: str) -> tuple[Account, float, Graph]:
    """The account, its owner's time now, and its graph as the store has it (404 if none)."""
    account = await emulator.store.account(account_id)
    if account is None:
        raise Missing("no account has this account_id")
    now = await emulator.now(account.api_key)
    assert now is not None
    return account, now, await emulator.graph(account, fresh=True)


async def network_view(emulator: Emulator, account_id: str) -> dict[str, object]:
    """Counts and the pending invitations both ways, with their fates, at the owner's time."""
    account, now, graph = await owned_graph(emulator, account_id)
    lists = graph.lists(now)
    limit = account.network.weekly_invitation_limit
    sent = []
    for relation in lists.sent:
        fate = relation.fate
        assert fate is not None
        accepts = fate.accept_at is not None
        sent.append(
            {
                "invitation_id": graph.invitation_id(relation.vanity, relation.n),
                "member": _member(graph, relation.vanity),
                "sent_at": format_instant(relation.since),
                "message": relation.note,
                "fate": {
                    "outcome": "accept" if accepts else "expire",
                    "at": format_instant(
                        fate.expire_at if fate.accept_at is None else fate.accept_at
                    ),
                },
            }
        )
    received = [
        {
            "invitation_id": graph.invitation_id(r.vanity, r.n),
            "entity_urn": URN + graph.invitation_id(r.vanity, r.n),
            "shared_secret": graph.shared_secret(r.vanity, r.n),
            "member": _member(graph, r.vanity),
            "sent_at": format_instant(r.since),
        }
        for r in lists.received
    ]
    return {
        "account_id": account_id,
        "now": format_instant(now),
        "counts": {
            "connections": graph.connection_total(now),
            "pending_sent": len(sent),
            "pending_received": len(received),
            "pymk_visible": graph.pool.size - len(graph.pymk_skip()),
            "invitations_this_week": len(graph.weekly(now)),
        },
        "settings": {**account.network.dump(), "born": format_instant(account.born)},
        "weekly_invitation_limit": limit,
        "sent": sent,
        "received": received,
    }


async def arrive(emulator: Emulator, account_id: str, raw: bytes | None) -> dict[str, object]:
    """A received invitation arrives now: from a named member, or a generated one (the n-th
    arrival of the account)."""
    spec = parse(Arrival, b"{}" if raw == b"" else raw)
    named = None
    if spec.profile_url is not None:
        try:
            named = vanity_of_url("profile_url", spec.profile_url)
        except ApiError as error:
            raise ControlError(error.message) from None

    def decide(graph: Graph, now: float) -> tuple[tuple[Change, ...], dict[str, object]]:
        changes = []
        vanity = named
        if vanity is None:
            k = graph.arrivals()
            if k >= people.MAX_ARRIVALS:
                raise Conflict("this account has had every generated arrival there is")
            vanity = graph.pool.member(people.ARRIVAL_BASE + k, connection=True).vanity
            counter = orjson.dumps({"n": k + 1})
            changes.append(Change(network.ARRIVALS, graph.version(network.ARRIVALS), counter))
        relation = graph.relation(vanity, now)
        if relation.kind != NONE:
            where = "a connection" if relation.kind == CONNECTED else "in a pending invitation"
            raise Conflict(f"{vanity} is already {where}")
        n = relation.n + 1
        event = ("invitation_received", now, n)
        record = Record("received", now, n, now, None, (*relation.events, event))
        changes.append(Change(vanity, relation.version, record.dump()))
        invitation_id = graph.invitation_id(vanity, n)
        return tuple(changes), {
            "invitation_id": invitation_id,
            "entity_urn": URN + invitation_id,
            "shared_secret": graph.shared_secret(vanity, n),
            "sender": _member(graph, vanity),
            "sent_at": format_instant(now),
        }

    found = await emulator.change_graph(account_id, decide)
    if found is None:
        raise Missing("no account has this account_id")
    return found


async def respond(
    emulator: Emulator, account_id: str, invitation_id: str, raw: bytes | None
) -> dict[str, object]:
    """The member answers a sent invitation now (fates only accept or expire)."""
    answer = parse(InvitationAnswer, raw)

    def decide(graph: Graph, now: float) -> tuple[tuple[Change, ...], dict[str, object]]:
        vanity = graph.find(invitation_id)
        relation = graph.relation(vanity, now) if vanity is not None else None
        if (
            vanity is None
            or relation is None
            or relation.kind != SENT
            or graph.invitation_id(vanity, relation.n) != invitation_id
        ):
            raise Missing("invitation_id names no pending invitation this account has sent")
        if answer.response == "accept":
            event = ("accepted_invitation", now, relation.n)
            record = Record(
                "connected", now, relation.n, relation.since, None, (*relation.events, event)
            )
        else:
            record = Record("declined", now, relation.n, relation.since, None, relation.events)
        change = Change(vanity, relation.version, record.dump())
        outcome = "accepted" if answer.response == "accept" else "declined"
        return (change,), {
            "invitation_id": invitation_id,
            "outcome": outcome,
            "at": format_instant(now),
            "member": _member(graph, vanity),
        }

    found = await emulator.change_graph(account_id, decide)
    if found is None:
        raise Missing("no account has this account_id")
    return found


NETWORK_PAGE_MAX = 200


def _plan_data(plan: Plan) -> dict[str, Any]:
    raw = plan.data if isinstance(plan.data, bytes) else b"".join(plan.data)
    data: dict[str, Any] = orjson.loads(raw)
    return data


async def network_lists(
    emulator: Emulator, account_id: str, offset: int, count: int
) -> dict[str, object]:
    """A page of the account's connections and of its visible PYMK, as `list_connections` and
    `recommendations` answer them: the actions' own plans, read at the owner's time, with no
    call made (nothing debited, nothing journaled)."""
    if not (0 <= offset <= MAX_OFFSET and 1 <= count <= NETWORK_PAGE_MAX):
        raise ControlError(f"offset must be 0 to {MAX_OFFSET}, count 1 to {NETWORK_PAGE_MAX}")
    account, now, graph = await owned_graph(emulator, account_id)
    context = Context(account, emulator.generator, now, graph)
    connections = _plan_data(lists.list_connections(context, {"count": count, "offset": offset}))
    visible = graph.pool.size - len(graph.pymk_skip())
    shown = min(offset + count, visible, recommendations.MAX_COUNT)
    pymk: list[dict[str, Any]] = []
    if shown > offset:
        page = _plan_data(recommendations.plan(context, {"count": shown}))
        pymk = page["recommendations"][offset:]
    return {
        "account_id": account_id,
        "offset": offset,
        "count": count,
        "connections": connections["connections"],
        "connections_total": connections["total_available_results"],
        "pymk": pymk,
        "pymk_total": min(visible, recommendations.MAX_COUNT),
    }
