"""The registry of /v2/network actions: one module an action, listed here once."""

from __future__ import annotations

from linkup_emulator.actions import recommendations
from linkup_emulator.actions.base import Action, Context, Plan

ACTIONS: dict[str, Action] = {action.name: action for action in (recommendations.ACTION,)}

__all__ = ["ACTIONS", "Action", "Context", "Plan"]
