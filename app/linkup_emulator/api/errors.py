"""Errors as responses: the vendor's envelope on v2 paths, plain JSON on the control plane's,
an HTML page on the dashboard's (people read those)."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from linkup_emulator import envelope
from linkup_emulator.api.paths import is_control, is_ui, local, route_action
from linkup_emulator.clock import Clock
from linkup_emulator.control import ControlError
from linkup_emulator.errors import ApiError

JSON = "application/json"


def control_body(code: str, message: str) -> bytes:
    """The control plane's shape: it is not the vendor's API, so no envelope."""
    return orjson.dumps({"error": {"code": code, "message": message}})


def body_for_path(
    path: str, code: str, message: str, *, now: float, action: str | None = None
) -> bytes:
    """An error body in the shape of the path's side, for answers given outside the routes:
    plain JSON under /_emulator, else the v2 envelope with `action` (by default the route's)."""
    if is_control(path):
        return control_body(code, message)
    return envelope.error(code, message, action=action or route_action(path), now=now)


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.emulator.clock
    return clock


def api_error(request: Request, error: ApiError) -> Response:
    """An ApiError in the vendor's envelope; the action is the body's, else the route's."""
    trace = getattr(request.state, "trace", None)
    action = trace.action if trace else route_action(local(request.scope))
    now = trace.now if trace and trace.now is not None else _clock(request).now()
    request.state.code = error.code
    body = envelope.error(error.code, error.message, action=action, now=now)
    return Response(body, error.status, error.headers, media_type=JSON)


def control_error(request: Request, error: ControlError) -> Response:
    request.state.code = error.code
    if is_ui(local(request.scope)):
        from linkup_emulator.api.ui.render import error_page

        return error_page(request, error.status, error.code, error.message, error.headers)
    body = control_body(error.code, error.message)
    return Response(body, error.status, error.headers, media_type=JSON)
