"""The two v2 response envelopes, serialized straight to bytes."""

from __future__ import annotations

import time

import orjson

_last_second = -1
_last_stamp = ""


def timestamp() -> str:
    """UTC now at second precision with a Z suffix, as the vendor writes it."""
    global _last_second, _last_stamp
    now = int(time.time())
    if now != _last_second:
        _last_stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        _last_second = now
    return _last_stamp


# Serialized JSON, whole or as parts to be joined once into the body (large arrays).
Json = bytes | list[bytes]


def success(data: Json, *, action: str, account_id: str | None, credits: int) -> bytes:
    """`data` is serialized JSON already; account_id is only on account-scoped calls."""
    metadata: dict[str, object] = {"action": action}
    if account_id is not None:
        metadata["account_id"] = account_id
    metadata["credits_consumed"] = credits
    metadata["timestamp"] = timestamp()
    tail = b',"metadata":' + orjson.dumps(metadata) + b"}"
    if isinstance(data, bytes):
        return b'{"success":true,"data":' + data + tail
    return b"".join([b'{"success":true,"data":', *data, tail])


def error(code: str, message: str, *, action: str) -> bytes:
    """Errors never cost credits and, as documented, carry no account_id."""
    return orjson.dumps(
        {
            "success": False,
            "error": {"code": code, "message": message},
            "metadata": {"action": action, "credits_consumed": 0, "timestamp": timestamp()},
        }
    )
