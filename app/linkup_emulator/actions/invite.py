"""`invite`: a connection request to any member, with an optional note (SPEC 1.7)."""

from __future__ import annotations

import math

import orjson

from linkup_emulator.actions.base import Action, Context, Plan
from linkup_emulator.actions.params import text
from linkup_emulator.envelope import stamp
from linkup_emulator.errors import InvalidParams, RateLimited
from linkup_emulator.network import CONNECTED, RECEIVED, SENT, Graph, Record
from linkup_emulator.network import graph as network
from linkup_emulator.network.invitations import URN, WEEK_S
from linkup_emulator.network.members import named
from linkup_emulator.store import Change

NOTE_PREMIUM = 300  # LinkedIn's note limits, in code points
NOTE_FREE = 200


def plan(context: Context, params: dict[str, object]) -> Plan:
    graph, now = context.graph, context.now
    assert graph is not None
    vanity = named(params, ("profile_url", "linkedin_url"), "identifier")
    note = text(params, "message")
    limit = NOTE_PREMIUM if context.account.network.premium else NOTE_FREE
    if note is not None and len(note) > limit:
        plan_kind = "a Premium" if context.account.network.premium else "a free"
        raise InvalidParams(
            f"params.message is {len(note)} characters; {plan_kind} account's note holds {limit}"
        )
    relation = graph.relation(vanity, now)
    if relation.kind == CONNECTED:
        raise InvalidParams(f"Already connected with this member ({vanity})")
    if relation.kind == SENT:
        raise InvalidParams(
            f"CANT_RESEND_YET: an invitation to {vanity} is already pending; withdraw it first"
        )
    if relation.blocked_until > now:
        raise InvalidParams(
            f"CANT_RESEND_YET: {vanity} cannot be invited again before"
            f" {stamp(relation.blocked_until)} (21 days after the withdraw)"
        )
    changes: list[Change] = []
    if relation.kind == RECEIVED:
        # They invited the account first: LinkedIn connects the two instead.
        n = relation.n
        record = Record("connected", now, n, now, None, relation.events)
    else:
        n = relation.n + 1
        counted = weekly(context, graph)
        if counted is not None:
            changes.append(counted)
        record = Record("sent", now, n, now, note or None)
    changes.append(Change(vanity, relation.version, record.dump()))
    person = graph.person(vanity, relation.origin)
    data = {
        "invitation_urn": URN + graph.invitation_id(vanity, n),
        "profile_urn": "urn:li:fsd_profile:" + person.profile_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "headline": person.headline,
        "public_identifier": vanity,
        "profile_picture_url": person.picture,
    }
    return Plan(1, orjson.dumps(data), tuple(changes))


def weekly(context: Context, graph: Graph) -> Change | None:
    """This invitation counted in the rolling week, or 429 past the account's weekly limit
    (None: the account has no limit, nothing to count)."""
    now, limit = context.now, context.account.network.weekly_invitation_limit
    if limit is None:
        return None
    times = graph.weekly(now)
    if len(times) >= limit:
        retry = max(1, math.ceil(times[-limit] + WEEK_S - now)) if limit else math.ceil(WEEK_S)
        raise RateLimited(
            f"Weekly invitation limit of {limit} reached (CANT_INVITE_CONNECTION_LIMIT_REACHED);"
            f" retry in {retry} s",
            retry_after=retry,
        )
    return Change(network.WEEKLY, graph.version(network.WEEKLY), orjson.dumps({"w": [*times, now]}))


ACTION = Action(
    "invite",
    params=("profile_url", "linkedin_url", "identifier", "message"),
    plan=plan,
    reads_graph=True,
)
