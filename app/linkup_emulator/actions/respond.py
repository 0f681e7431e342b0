"""`accept`, `decline` and `withdraw`: answering an invitation received, or taking back one sent."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from linkup_emulator.actions.base import Action, Context, Plan
from linkup_emulator.actions.params import required_text
from linkup_emulator.errors import InvalidParams
from linkup_emulator.network import RECEIVED, SENT, Graph, Record, Relation
from linkup_emulator.network.invitations import parse_id
from linkup_emulator.store import Change


def pending(graph: Graph, invitation_id: str, kind: str, now: float) -> Relation | None:
    """The member of a pending invitation of this kind with this id, if there is one."""
    vanity = graph.find(invitation_id)
    if vanity is None:
        return None
    relation = graph.relation(vanity, now)
    if relation.kind != kind or graph.invitation_id(vanity, relation.n) != invitation_id:
        return None
    return relation


def _received(context: Context, params: dict[str, object]) -> Relation:
    graph = context.graph
    assert graph is not None
    if "entity_urn" not in params:
        raise InvalidParams("Missing required parameter: entity_urn")
    invitation_id = parse_id("entity_urn", params["entity_urn"], urn_only=True)
    secret = required_text(params, "shared_secret")
    relation = pending(graph, invitation_id, RECEIVED, context.now)
    if relation is None:
        raise InvalidParams(
            "Invitation not found or no longer pending: entity_urn names no invitation this"
            " account has received and not yet answered"
        )
    if secret != graph.shared_secret(relation.vanity, relation.n):
        raise InvalidParams("Invalid shared_secret for this invitation")
    return relation


def _answer(state: str) -> Callable[[Context, dict[str, object]], Plan]:
    def plan(context: Context, params: dict[str, object]) -> Plan:
        relation = _received(context, params)
        now = context.now
        record = Record(state, now, relation.n, relation.since, None, relation.events)
        return Plan(1, b"{}", (Change(relation.vanity, relation.version, record.dump()),))

    return plan


def withdraw(context: Context, params: dict[str, object]) -> Plan:
    graph, now = context.graph, context.now
    assert graph is not None
    if "invitation_id" not in params:
        raise InvalidParams("Missing required parameter: invitation_id")
    invitation_id = parse_id("invitation_id", params["invitation_id"])
    relation = pending(graph, invitation_id, SENT, now)
    if relation is None:
        raise InvalidParams(
            "Invitation not found or not pending: invitation_id names no pending invitation"
            " this account has sent"
        )
    record = Record("withdrawn", now, relation.n, None, None, relation.events)
    data = orjson.dumps({"withdrawn": True, "invitation_id": invitation_id})
    return Plan(1, data, (Change(relation.vanity, relation.version, record.dump()),))


ACCEPT = Action(
    "accept", params=("entity_urn", "shared_secret"), plan=_answer("connected"), reads_graph=True
)
DECLINE = Action(
    "decline", params=("entity_urn", "shared_secret"), plan=_answer("declined"), reads_graph=True
)
WITHDRAW = Action("withdraw", params=("invitation_id",), plan=withdraw, reads_graph=True)
