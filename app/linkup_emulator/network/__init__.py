"""An account's network (SPEC 1.7): members, invitations and their fates, the graph."""

from linkup_emulator.network.graph import (
    CONNECTED,
    NONE,
    RECEIVED,
    SENT,
    Graph,
    GraphEvent,
    Origin,
    Record,
    Relation,
)

__all__ = [
    "CONNECTED",
    "NONE",
    "RECEIVED",
    "SENT",
    "Graph",
    "GraphEvent",
    "Origin",
    "Record",
    "Relation",
]
