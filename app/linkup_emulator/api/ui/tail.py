"""The journal's live tail: Server-Sent Events of the rows recorded after the page was drawn.

It reads the journal through control.journal, as the page does, every POLL_S, and sends each
new row once, oldest first, with its id as the event id. A stream lasts LIFETIME_S and then
ends; the browser's EventSource reconnects by itself with Last-Event-ID, so nothing is missed
and a server that is stopping never waits on an open tab for longer than that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from linkup_emulator import control
from linkup_emulator.api.deps import EmulatorDep
from linkup_emulator.api.ui import guard, pages
from linkup_emulator.api.ui.render import HEADERS, key_view
from linkup_emulator.emulator import Emulator
from linkup_emulator.models import parse_whole

POLL_S = 0.5
LIFETIME_S = 15.0
RETRY_MS = 1000  # how soon the browser reconnects once a stream ends
BATCH = 200  # rows read per poll: more than that within POLL_S shows the newest 200


def _after(request: Request) -> int | None:
    """Where to start: the last event the browser saw (on a reconnect), else the newest row its
    page showed."""
    for given in (request.headers.get("last-event-id"), request.query_params.get("after")):
        if given is not None:
            found = parse_whole(given, 0, 10**15)
            if found is not None:
                return found
    return None


def event(row: Mapping[str, Any]) -> bytes:
    data = orjson.dumps(row, default=dataclasses.asdict)
    return b"id: %d\nevent: row\ndata: %s\n\n" % (row["id"], data)


async def tail(
    emulator: Emulator,
    query: dict[str, str],
    view: Callable[[str | None], object],
    after: int | None,
    *,
    lifetime: float | None = None,
    poll: float | None = None,
) -> AsyncIterator[bytes]:
    lifetime = LIFETIME_S if lifetime is None else lifetime
    poll = POLL_S if poll is None else poll
    yield b"retry: %d\n\n" % RETRY_MS
    if after is None:
        newest = await control.journal(emulator, {**query, "limit": "1"}, view)
        items: list[dict[str, Any]] = newest["items"]  # type: ignore[assignment]
        after = items[0]["id"] if items else 0
    deadline = time.monotonic() + lifetime
    while True:
        found = await control.journal(emulator, {**query, "limit": str(BATCH)}, view)
        rows: list[dict[str, Any]] = found["items"]  # type: ignore[assignment]
        for row in reversed([row for row in rows if row["id"] > after]):
            yield event(row)
            after = row["id"]
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(poll)


async def journal_stream(request: Request, emulator: EmulatorDep) -> Response:
    guard.require_session(request)
    query = await pages.journal_query(request, emulator, pages.journal_filters(request))
    headers = {**HEADERS, "X-Accel-Buffering": "no"}  # a proxy in front must not hold events
    if request.method == "HEAD":  # the headers alone, now (not after a stream's lifetime)
        return Response(media_type="text/event-stream", headers=headers)
    stream = tail(emulator, query, key_view(request), _after(request))
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
