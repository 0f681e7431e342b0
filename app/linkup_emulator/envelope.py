"""The two v2 response envelopes, serialized straight to bytes."""

from __future__ import annotations

import time

import orjson


class Stamp:
    """UTC at second precision with a Z suffix, as the vendor writes it. It keeps the last
    second's text (one tuple, so threads never see a second with another's text): under load
    most calls fall in the same second as the one before. One per clock: the emulated one's
    second and the real one's (log lines) would otherwise evict each other."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple[int, str] = (-1, "")

    def __call__(self, seconds: float) -> str:
        whole = int(seconds)
        last = self._last
        if whole != last[0]:
            last = self._last = (whole, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(whole)))
        return last[1]


stamp = Stamp()  # for emulated time: envelopes, the journal, the control plane


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
