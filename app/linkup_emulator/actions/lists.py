"""`list_connections`, `list_invitations` and `list_sent`: pages of the account's graph."""

from __future__ import annotations

import math

import orjson

from linkup_emulator.actions.base import Action, Context, Plan
from linkup_emulator.actions.params import (
    DEFAULT_COUNT,
    MAX_COUNT,
    MAX_OFFSET,
    flag,
    invitation_type,
    whole,
)
from linkup_emulator.generator.people import PROFILE_URL
from linkup_emulator.network import Graph, Relation
from linkup_emulator.network.invitations import DAY, URN

PER_CREDIT = 50  # "1 credit per 50 results returned"
RESULTS_PER_PAGE = 10  # a constant in every vendor example
UPSTREAM_PAGE = 100  # "LinkedIn returns up to 100 ... per internal request"


def _page(params: dict[str, object]) -> tuple[int, int]:
    count = whole(params, "count", DEFAULT_COUNT, 1, MAX_COUNT)
    offset = whole(params, "offset", 0, 0, MAX_OFFSET)
    return count, offset


def _pagination(offset: int, returned: int, total: int) -> dict[str, object]:
    next_offset = offset + returned
    return {
        "offset": offset,
        "count": returned,
        "next_offset": next_offset,
        "has_more": next_offset < total,
        "results_per_page": RESULTS_PER_PAGE,
        "pages_fetched": max(1, math.ceil(returned / UPSTREAM_PAGE)),
    }


def _cost(returned: int) -> int:
    return math.ceil(returned / PER_CREDIT)


def list_connections(context: Context, params: dict[str, object]) -> Plan:
    graph, now = context.graph, context.now
    assert graph is not None
    count, offset = _page(params)
    cached = flag(params, "use_cache")
    pool = graph.pool
    changed = graph.lists(now).connections  # who connected since the account was born
    total = len(changed) + pool.connection_count
    items: list[bytes] = []
    for i in range(offset, min(offset + count, total)):
        if i < len(changed):
            vanity = changed[i].vanity
            person = graph.person(vanity, changed[i].origin)
            item = {
                "name": person.name,
                "job_title": person.headline,
                "profile_url": f"{PROFILE_URL}{vanity}/",  # the vendor's trailing slash
                "profile_picture": person.picture,
            }
            items.append(orjson.dumps(item))
        else:
            items.append(pool.connection_json(i - len(changed)))
    tail = orjson.dumps(
        {
            "total_results": len(items),
            "total_available_results": total,
            "pagination": _pagination(offset, len(items), total),
        }
    )
    data = [b'{"connections":[', b",".join(items), b"],", tail[1:]]
    return Plan(0 if cached else _cost(len(items)), data)


def _invitations(
    graph: Graph, pending: list[Relation], count: int, offset: int, now: float, *, received: bool
) -> list[dict[str, object]]:
    """A page of pending invitations as the vendor lists them: received ones name their
    `sender` (with `profile_picture_url` and the `shared_secret` to answer them), sent ones
    their `recipient` (with `profile_picture`) — the vendor's own two spellings."""
    items: list[dict[str, object]] = []
    for relation in pending[offset : offset + count]:
        person = graph.person(relation.vanity, relation.origin)
        days = max(0, math.floor((now - relation.since) / DAY))
        member = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "headline": person.headline,
            "linkedin_url": PROFILE_URL + relation.vanity,
            ("profile_picture_url" if received else "profile_picture"): person.picture,
        }
        item: dict[str, object] = {
            "entity_urn": URN + graph.invitation_id(relation.vanity, relation.n)
        }
        if received:
            item["shared_secret"] = graph.shared_secret(relation.vanity, relation.n)
        item |= {
            "sender" if received else "recipient": member,
            "invitation_type": "CONNECTION",
            "sent_time": f"{days}d",
            "sent_time_days": days,
        }
        items.append(item)
    return items


def list_invitations(context: Context, params: dict[str, object]) -> Plan:
    graph, now = context.graph, context.now
    assert graph is not None
    count, offset = _page(params)
    kind = invitation_type(params, None)
    pending = graph.lists(now).received if kind in (None, "CONNECTION") else []
    items = _invitations(graph, pending, count, offset, now, received=True)
    data = {
        "invitations": items,
        "total_results": len(items),
        "total_available_results": len(pending),
        "pagination": _pagination(offset, len(items), len(pending)),
    }
    return Plan(_cost(len(items)), orjson.dumps(data))


def list_sent(context: Context, params: dict[str, object]) -> Plan:
    graph, now = context.graph, context.now
    assert graph is not None
    count, offset = _page(params)
    kind = invitation_type(params, "CONNECTION")
    pending = graph.lists(now).sent if kind == "CONNECTION" else []
    items = _invitations(graph, pending, count, offset, now, received=False)
    data = {
        "invitations": items,
        "total_results": len(items),
        "total_available_results": len(pending),
        "invitation_type": kind,
        "pagination": _pagination(offset, len(items), len(pending)),
    }
    return Plan(_cost(len(items)), orjson.dumps(data))


LIST_CONNECTIONS = Action(
    "list_connections", ("count", "offset", "use_cache"), list_connections, reads_graph=True
)
LIST_INVITATIONS = Action(
    "list_invitations", ("count", "offset", "invitation_type"), list_invitations, reads_graph=True
)
LIST_SENT = Action("list_sent", ("count", "offset", "invitation_type"), list_sent, reads_graph=True)
