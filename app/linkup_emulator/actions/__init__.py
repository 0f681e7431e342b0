"""The registry of /v2/network actions: one module an action (or a family), listed here once."""

from __future__ import annotations

from linkup_emulator.actions import check_invitation, invite, lists, recommendations, respond
from linkup_emulator.actions.base import Action, Context, Plan

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        recommendations.ACTION,
        invite.ACTION,
        respond.ACCEPT,
        respond.DECLINE,
        respond.WITHDRAW,
        check_invitation.ACTION,
        lists.LIST_CONNECTIONS,
        lists.LIST_INVITATIONS,
        lists.LIST_SENT,
    )
}

__all__ = ["ACTIONS", "Action", "Context", "Plan"]
