"""GET /v2/logs: the caller's own calls, read from the request journal, filtered and paged."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from linkup_emulator.clock import parse_instant
from linkup_emulator.emulator import (
    OFFSET_MAX,
    Emulator,
    Trace,
    _no_unknown_query,
    _query_int,
)
from linkup_emulator.errors import InvalidParams

LOGS_LIMIT_MAX = 200
LOGS_QUERY = ("limit", "offset", "action", "account_id", "status", "date_from", "date_to")
STATUSES = ("success", "error")


def parse_when(query: Mapping[str, str], name: str, *, end: bool = False) -> float | str | None:
    """A time filter: an ISO 8601 date (`2026-04-26`: the whole day, so as an end its last
    instant) or datetime (with a zone; none means UTC) as an instant; anything else is kept
    as text, compared with the times' own text (never refused: a filter that matches
    nothing answers nothing). None when absent."""
    raw = query.get(name)
    if raw is None:
        return None
    if len(raw) == 10:
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
        else:
            return day + 86_400 - 1e-6 if end else day
    for text in (raw, raw + "Z"):
        try:
            return parse_instant(text)
        except ValueError:
            continue
    return raw


def within(at: float, text: str, since: float | str | None, until: float | str | None) -> bool:
    """Whether a time (as an instant, and as its text) is inside the filters."""
    if since is not None and (at < since if isinstance(since, float) else text < since):
        return False
    return until is None or (at <= until if isinstance(until, float) else text <= until)


def category(path: str) -> str:
    """The v2 route family a call went to: /v2/network -> network, /v2/webhooks/… -> webhooks."""
    return path.split("/")[2] if path.count("/") >= 2 else ""


async def list_logs(
    emulator: Emulator, trace: Trace, headers: Mapping[str, str], query: Mapping[str, str]
) -> bytes:
    found = await emulator._gate(trace, headers)
    _no_unknown_query(query, "list_logs", LOGS_QUERY)
    limit = _query_int(query, "limit", 50, 1, LOGS_LIMIT_MAX)
    offset = _query_int(query, "offset", 0, 0, OFFSET_MAX)
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidParams("status must be success or error")
    since = parse_when(query, "date_from")
    until = parse_when(query, "date_to", end=True)
    action, account_id = query.get("action"), query.get("account_id")
    # The journal is bounded (EMULATOR_JOURNAL_SIZE), so the key's whole part of it is read.
    rows, _ = await emulator.store.journal(found.tenant.api_key, None, emulator.policy.journal_size)
    items = []
    for log_id, entry in rows:
        if not entry.path.startswith("/v2/"):  # webhook delivery attempts: not calls
            continue
        ok = 200 <= entry.status < 300
        if status is not None and ok != (status == "success"):
            continue
        if (action is not None and entry.action != action) or (
            account_id is not None and entry.account_id != account_id
        ):
            continue
        if (since is not None or until is not None) and not within(
            parse_instant(entry.time), entry.time, since, until
        ):
            continue
        items.append(
            {
                "log_id": str(log_id),
                "timestamp": entry.time,
                "account_id": entry.account_id,
                "category": category(entry.path),
                "action": entry.action,
                "status": "success" if ok else "error",
                "http_status": entry.status,
                "error_code": entry.code,
                "credits_consumed": entry.credits,
            }
        )
    data = {
        "items": items[offset : offset + limit],
        "total": len(items),
        "limit": limit,
        "offset": offset,
    }
    return emulator._success(orjson.dumps(data), trace, None)
