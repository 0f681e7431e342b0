"""`check_invitation`: where the account stands with one member (SPEC 1.7's table)."""

from __future__ import annotations

import orjson

from linkup_emulator.actions.base import Action, Context, Plan
from linkup_emulator.network import CONNECTED, RECEIVED, SENT
from linkup_emulator.network.members import named

MESSAGES = {
    CONNECTED: "You are connected with this person",  # the vendor's documented sentence
    SENT: "Invitation sent and pending",
    RECEIVED: "You have a pending invitation from this person",
}
NO_INVITATION = "No invitation found"


def plan(context: Context, params: dict[str, object]) -> Plan:
    graph = context.graph
    assert graph is not None
    vanity = named(params, ("profile_url", "linkedin_url"), None)
    relation = graph.relation(vanity, context.now)
    distance = 2 if relation.origin.generated else 3
    if relation.kind == CONNECTED:
        data = {
            "invitation_state": "ACCEPTED",
            "invitation_type": "CONNECTED",
            "invitation_id": None,
            "member_distance": 1,
            "message": MESSAGES[CONNECTED],
        }
    elif relation.kind in (SENT, RECEIVED):
        data = {
            "invitation_state": "PENDING",
            "invitation_type": relation.kind,
            "invitation_id": graph.invitation_id(vanity, relation.n),
            "member_distance": distance,
            "message": MESSAGES[relation.kind],
        }
    else:
        data = {
            "invitation_state": "NO_INVITATION",
            "invitation_type": None,
            "invitation_id": None,
            "member_distance": distance,
            "message": NO_INVITATION,
        }
    return Plan(1, orjson.dumps(data))


ACTION = Action(
    "check_invitation", params=("profile_url", "linkedin_url"), plan=plan, reads_graph=True
)
