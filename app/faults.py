"""Forced errors and delays: the X-Emulator-* request headers and replayable fault rules."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import FORCIBLE, InvalidParams
from app.store import FaultHit

ERROR_HEADER = "x-emulator-error"
DELAY_HEADER = "x-emulator-delay-ms"
MAX_DELAY_MS = 30_000


@dataclass(frozen=True, slots=True)
class Injection:
    error: str | None = None
    delay_ms: int = 0
    source: str = ""


def from_headers(headers: Mapping[str, str]) -> Injection:
    """What the request asks for itself; a bad header value is the client's error, named."""
    error = headers.get(ERROR_HEADER)
    if error is not None:
        error = error.strip().upper()
        if error not in FORCIBLE:
            raise InvalidParams(
                f"X-Emulator-Error: '{error[:60]}' is not a code the emulator can force;"
                f" use one of {', '.join(FORCIBLE)}"
            )
    delay_ms = 0
    raw_delay = headers.get(DELAY_HEADER)
    if raw_delay is not None:
        text = raw_delay.strip()
        if not text.isascii() or not text.isdigit() or int(text) > MAX_DELAY_MS:
            raise InvalidParams(
                "X-Emulator-Delay-Ms must be a whole number of milliseconds"
                f" from 0 to {MAX_DELAY_MS}"
            )
        delay_ms = int(text)
    return Injection(error, delay_ms, "X-Emulator-Error header")


def fires(seed: str, hit: FaultHit) -> bool:
    """A probability rule fires on its k-th match by (seed, rule, k) alone: it replays exactly."""
    probability = hit.rule.spec.probability
    if probability is None:
        return True
    material = f"{len(seed)}:{seed}|{hit.rule.spec.model_dump_json()}|{hit.k}".encode()
    draw = int.from_bytes(hashlib.sha256(material).digest()[:8], "big") / 2**64
    return draw < probability


def from_rules(seed: str, hits: list[FaultHit]) -> Injection:
    """The oldest rule that fires decides; every matching rule still counted its match."""
    for hit in hits:
        if fires(seed, hit):
            spec = hit.rule.spec
            return Injection(spec.error, spec.delay_ms or 0, f"fault rule {hit.rule.id}")
    return Injection()
