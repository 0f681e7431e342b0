"""The limits a connection meets in server.py's protocol, as create_app hands them down (a
module of its own: the in-process app needs them without importing uvicorn)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_connections: int = 2048  # open connections of one process; past it, 503 and close
    head_timeout_s: float = 10.0  # to send a complete request head
    write_timeout_s: float = 30.0  # for a response left unread in full buffers


DEFAULT_LIMITS = ConnectionLimits()
