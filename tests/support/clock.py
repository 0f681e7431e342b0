"""A clock a test sets by hand, injected with create_app(settings, clock=...)."""

from __future__ import annotations


class ManualClock:
    def __init__(self, now: float = 1_777_199_700.0) -> None:  # 2026-04-26T10:35:00Z
        self.value = now

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds
