"""Dependencies shared by the routes: the emulator, the request's trace, the body, the guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from linkup_emulator.api.paths import local, route_action
from linkup_emulator.control import Unauthorized
from linkup_emulator.emulator import MAX_BODY, Emulator, Trace


def emulator_of(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def get_emulator(request: Request) -> Emulator:
    return emulator_of(request)


EmulatorDep = Annotated[Emulator, Depends(get_emulator)]


def trace(request: Request) -> Trace:
    """The trace the error handlers and the journal read back from the request's state; its
    action starts as the route's own name, until a body names one."""
    found = Trace(route_action(local(request.scope), request.method))
    request.state.trace = found
    return found


async def read_body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY: reading stops there, so a huge body costs nothing.
    Read straight from the ASGI messages: Request.stream() costs more than the rest of parsing."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def require_admin(request: Request) -> None:
    token: bytes | None = request.app.state.admin_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
        raise Unauthorized("send Authorization: Bearer <EMULATOR_ADMIN_TOKEN>")


AdminDep = Annotated[None, Depends(require_admin)]
