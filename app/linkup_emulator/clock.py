"""The clock everything a client can see tells time by; one object, injected where time is read.

Today it is the system clock. The emulated clock (frozen starts, advances, per-tenant offsets)
replaces it behind the same `now()`; nothing else reads `time.time()` for what a client sees.
Log lines, metrics and delays stay on real time, as their readers expect.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, UTC."""


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        return time.time()
