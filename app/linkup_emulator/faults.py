"""Forced errors and delays: the X-Emulator-* request headers and replayable fault rules."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from linkup_emulator.errors import FORCIBLE, InvalidParams
from linkup_emulator.models import parse_whole
from linkup_emulator.store import FaultHit

ERROR_HEADER = "x-emulator-error"
DELAY_HEADER = "x-emulator-delay-ms"
MAX_DELAY_MS = 30_000


@dataclass(frozen=True, slots=True)
class Injection:
    error: str | None = None
    delay_ms: int = 0
    source: str = ""
    delay_set: bool = False  # the request named a delay itself (0 included)


def from_headers(headers: Mapping[str, str]) -> Injection:
    """What the request asks for itself; a bad header value is the client's error, named."""
    error = headers.get(ERROR_HEADER)
    if error is not None:
        error = error.strip(" \t")
        if error not in FORCIBLE:  # exactly a vendor code, as openapi.yaml's enum says
            raise InvalidParams(
                f"X-Emulator-Error: '{error[:60]}' is not a code the emulator can force;"
                f" use one of {', '.join(FORCIBLE)}"
            )
    delay_ms, raw_delay = 0, headers.get(DELAY_HEADER)
    if raw_delay is not None:
        parsed = parse_whole(raw_delay, 0, MAX_DELAY_MS)
        if parsed is None:
            raise InvalidParams(
                "X-Emulator-Delay-Ms must be a whole number of milliseconds"
                f" from 0 to {MAX_DELAY_MS}"
            )
        delay_ms = parsed
    return Injection(error, delay_ms, "X-Emulator-Error header", raw_delay is not None)


def fires(seed: str, hit: FaultHit) -> bool:
    """A probability rule fires on its k-th match by (seed, rule, k) alone: it replays exactly."""
    probability = hit.rule.spec.probability
    if probability is None:
        return True
    material = f"{len(seed)}:{seed}|{hit.rule.spec.model_dump_json()}|{hit.k}".encode()
    draw = int.from_bytes(hashlib.sha256(material).digest()[:8], "big") / 2**64
    return draw < probability


def combine(seed: str, asked: Injection, hits: list[FaultHit]) -> Injection:
    """The request's own headers win for what they set; otherwise the oldest firing rule with an
    error gives the error, and the longest firing delay is slept. Every match was counted."""
    error, source, delay_ms = asked.error, asked.source, asked.delay_ms
    rule_delay = 0
    for hit in hits:
        if not fires(seed, hit):
            continue
        spec = hit.rule.spec
        rule_delay = max(rule_delay, spec.delay_ms or 0)
        if error is None and spec.error is not None:
            error, source = spec.error, f"fault rule {hit.rule.id}"
    return Injection(error, delay_ms if asked.delay_set else rule_delay, source)
