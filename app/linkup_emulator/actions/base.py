"""What an action is: it reads the request's params into a Plan; the emulator applies it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from linkup_emulator.envelope import Json
from linkup_emulator.generator import PeopleGenerator
from linkup_emulator.network import Graph
from linkup_emulator.store import Account, Change


@dataclass(frozen=True, slots=True)
class Context:
    """What an action may read to make its plan; it never writes."""

    account: Account
    generator: PeopleGenerator
    now: float  # the emulated clock's time of the call
    graph: Graph | None = None  # the account's graph, when the action reads it


@dataclass(frozen=True, slots=True)
class Plan:
    """A call's cost, its response's `data`, and what it will change. The data is made before
    anything is applied, so a call that fails while making it has changed nothing."""

    cost: int
    data: Json
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class Action:
    """One /v2/network action. `plan` raises the action's refusals (InvalidParams, ...), and
    must be pure: it may run again when the graph it read changed before it was applied."""

    name: str
    params: tuple[str, ...]  # the keys `params` may hold; any other is refused
    plan: Callable[[Context, dict[str, object]], Plan]
    reads_graph: bool = False
