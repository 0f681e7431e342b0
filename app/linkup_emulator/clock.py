"""The emulated clock: everything a client can see tells time by it (timestamps, rate windows,
the journal's times). Log lines, metrics and X-Emulator-Delay-Ms stay on real time.

The clock's state lives in the store (ClockState: frozen at an instant, or the wall clock plus
an offset; each tenant's own offset on top), so every worker agrees on it. A request reads it
with its first store read; EmulatedClock keeps the last state this process read, for answers
given before any (a parser's 400, a 404).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

# Instants from year 1970 to 9999: what a timestamp's four-digit year can show.
LATEST = 253_402_300_799.0


@dataclass(frozen=True, slots=True)
class ClockState:
    """The global emulated clock: frozen at an instant, or the wall clock plus an offset."""

    frozen_at: float | None = None
    offset_s: float = 0.0

    def now(self, wall: float) -> float:
        return self.frozen_at if self.frozen_at is not None else wall + self.offset_s


SYSTEM_CLOCK = ClockState()


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, UTC."""


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        return time.time()


class SteadyClock:
    """Real time that never goes backwards: the wall clock as it read at the start, carried
    on by the monotonic clock. A wall clock stepped back (NTP, a VM resumed, a hand) would
    step every emulated time back with it (a rate window of the future answered
    Retry-After: 3660); slews and steps after the start don't reach it."""

    def __init__(self) -> None:
        self._anchor = time.time() - time.monotonic()

    def now(self) -> float:
        return self._anchor + time.monotonic()


class EmulatedClock:
    """The emulated time of this process: the store's clock state over a steady wall clock."""

    def __init__(self, wall: Clock | None = None) -> None:
        self.wall = wall or SteadyClock()
        self.state = SYSTEM_CLOCK

    def observe(self, state: ClockState) -> None:
        """The clock as the store has it, read by a request."""
        self.state = state

    def now(self, offset: float = 0.0) -> float:
        """Global emulated time, or a tenant's with its offset."""
        return self.state.now(self.wall.now()) + offset


def parse_instant(text: str) -> float:
    """An RFC 3339 / ISO 8601 instant with a time zone (`Z` or an offset), as epoch seconds.
    A naive one is refused: it would mean a different instant on every machine."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text[:60]}' is not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise ValueError(f"'{text[:60]}' has no time zone; end it with Z or an offset")
    seconds = parsed.timestamp()
    if not 0 <= seconds <= LATEST:
        raise ValueError(f"'{text[:60]}' is outside 1970-01-01 .. 9999-12-31")
    return seconds


def format_instant(seconds: float) -> str:
    """UTC with milliseconds and a Z: the control plane's view of the clock."""
    moment = datetime.fromtimestamp(math.floor(seconds * 1000) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
