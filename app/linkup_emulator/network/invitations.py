"""Invitations' ids, shared secrets and fates: pure functions of (seed, account, member, n)."""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from linkup_emulator.errors import InvalidParams
from linkup_emulator.generator.hashing import frame

HOUR = 3600.0
DAY = 86_400.0
REINVITE_BLOCK_S = 21 * DAY  # LinkedIn: "up to three weeks" after a withdraw
EXPIRY_S = 180 * DAY  # LinkedIn: pending invitations go after about six months
WEEK_S = 7 * DAY
ACCEPT_MIN_S = HOUR
ACCEPT_MAX_S = 7 * DAY

URN = "urn:li:invitation:"
FSD_URN = "urn:li:fsd_invitation:"
_ID = re.compile(r"[0-9]{1,19}")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_WORDS = struct.Struct(">4Q").unpack


def _digest(seed: str, account_id: str, member: str, n: int, field: str) -> bytes:
    return hashlib.sha256(
        frame("linkup-emulator/invitation/v1", seed, account_id, member, n, field)
    ).digest()


def invitation_id(seed: str, account_id: str, member: str, n: int) -> str:
    """19 digits from 7: LinkedIn's current range (7453486530700017665)."""
    (word, *_) = _WORDS(_digest(seed, account_id, member, n, "id"))
    return str(7 * 10**18 + word % 10**18)


def shared_secret(seed: str, account_id: str, member: str, n: int) -> str:
    """8 base62 characters, LinkedIn's validationToken shape ("9gAd0GPh")."""
    value = int.from_bytes(_digest(seed, account_id, member, n, "secret"), "big")
    out = []
    for _ in range(8):
        value, digit = divmod(value, 62)
        out.append(_BASE62[digit])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Fate:
    """What the other side of a sent invitation does: accept at `accept_at`, or never (it then
    expires at `expire_at`)."""

    accept_at: float | None
    expire_at: float


def fate(
    seed: str, account_id: str, member: str, n: int, sent_at: float, born: float, rate: float
) -> Fate:
    """Accepted with probability `rate`, 1 hour to 7 days after it was sent (or, for the
    invitations an account starts with, after the account was born, so they start pending)."""
    words = _WORDS(_digest(seed, account_id, member, n, "fate"))
    accepted = words[0] / 2**64 < rate
    delay = ACCEPT_MIN_S + words[1] % int(ACCEPT_MAX_S - ACCEPT_MIN_S)
    start = max(sent_at, born)
    return Fate(start + delay if accepted else None, sent_at + EXPIRY_S)


def parse_id(field: str, value: object, *, urn_only: bool = False) -> str:
    """An invitation id from its bare form or either URN (`entity_urn` takes URNs only)."""
    forms = f"{URN}<id> or {FSD_URN}<id>"
    if not isinstance(value, str):
        kind = "a JSON string" if isinstance(value, int | float) else "a string"
        raise InvalidParams(
            f"params.{field} must be {kind}: {forms}" + ("" if urn_only else " or the bare id")
        )
    text = value.strip()
    for head in (URN, FSD_URN):
        if text.startswith(head):
            text = text[len(head) :]
            break
    else:
        if urn_only:
            raise InvalidParams(f"params.{field} must be an invitation URN: {forms}")
    if not _ID.fullmatch(text):
        raise InvalidParams(f"params.{field} is not an invitation id: {forms}")
    return text
