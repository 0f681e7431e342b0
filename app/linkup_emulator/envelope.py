"""The two v2 response envelopes, serialized straight to bytes."""

from __future__ import annotations

import time

import orjson

_last: tuple[int, str] = (-1, "")


def stamp(seconds: float) -> str:
    """UTC at second precision with a Z suffix, as the vendor writes it. The last second's
    text is kept (one tuple, so threads never see a second with another's text): under load
    most calls fall in the same second as the one before."""
    global _last
    whole = int(seconds)
    last = _last
    if whole != last[0]:
        last = _last = (whole, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole)))
    return last[1]


# Serialized JSON, whole or as parts to be joined once into the body (large arrays).
Json = bytes | list[bytes]


def success(data: Json, *, action: str, account_id: str | None, credits: int, now: float) -> bytes:
    """`data` is serialized JSON already; account_id is only on account-scoped calls."""
    metadata: dict[str, object] = {"action": action}
    if account_id is not None:
        metadata["account_id"] = account_id
    metadata["credits_consumed"] = credits
    metadata["timestamp"] = stamp(now)
    tail = b',"metadata":' + orjson.dumps(metadata) + b"}"
    if isinstance(data, bytes):
        return b'{"success":true,"data":' + data + tail
    return b"".join([b'{"success":true,"data":', *data, tail])


def error(code: str, message: str, *, action: str, now: float) -> bytes:
    """Errors never cost credits and, as documented, carry no account_id."""
    return orjson.dumps(
        {
            "success": False,
            "error": {"code": code, "message": message},
            "metadata": {"action": action, "credits_consumed": 0, "timestamp": stamp(now)},
        }
    )
