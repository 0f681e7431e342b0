"""What wraps every request: its id and version headers, the last-resort 500, metrics, the
access line and the v2 journal row (written by the emulator); and CORS."""

from __future__ import annotations

import html
import logging
import os
import re
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkup_emulator import __version__
from linkup_emulator.api.errors import body_for_path
from linkup_emulator.api.paths import is_ui, is_v2, label, local, route_action
from linkup_emulator.clock import Clock
from linkup_emulator.control import mask, masked_path
from linkup_emulator.emulator import Emulator, Trace
from linkup_emulator.errors import MSG_INTERNAL_ERROR
from linkup_emulator.observability.logging import STORE_ERRORS, access_line, access_log, log
from linkup_emulator.observability.metrics import Metrics
from linkup_emulator.store import StoreFailure

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_VERSION = __version__.encode()


def internal_error_page(message: str) -> bytes:
    """The dashboard's last-resort 500: plain on purpose, as what failed may be the templates."""
    return (
        b"<!doctype html><html lang=en><meta charset=utf-8><title>Internal error</title>"
        b"<h1>Internal error</h1><p>" + html.escape(message).encode() + b"</p>"
        b'<p><a href="/_emulator/ui">Back to the dashboard</a></p></html>'
    )


class Observability:
    """Pure ASGI (no BaseHTTPMiddleware cost on the hot path): wraps every request."""

    def __init__(self, app: ASGIApp, emulator: Emulator, metrics: Metrics) -> None:
        self.app = app
        self.emulator = emulator
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # The first one, as for every other repeated header (dict() would keep the last).
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        request_id = given if _REQUEST_ID.match(given) else os.urandom(16).hex()
        extra = [(b"x-request-id", request_id.encode()), (b"x-emulator-version", _VERSION)]
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        message = MSG_INTERNAL_ERROR
        try:
            await self.app(scope, receive, send_with_headers)
        except StoreFailure as failure:
            # A full disk fails every call alike: its line once per burst, and the client
            # told what failed (nothing was debited: the write was one transaction).
            STORE_ERRORS.error("the store failed a write", reason=failure.reason)
            message = f"{MSG_INTERNAL_ERROR}: {failure.reason}"
            await self._failed(scope, send_with_headers, send, message, response_started)
        except Exception:
            log.exception("unexpected error", extra={"fields": {"request_id": request_id}})
            await self._failed(scope, send_with_headers, send, message, response_started)
        await self._record(scope, status, request_id, time.perf_counter() - started)

    async def _failed(
        self, scope: Scope, send_with_headers: Send, send: Send, message: str, started: bool
    ) -> None:
        """The last-resort 500 in the path's shape, unless a response had begun."""
        state = scope.setdefault("state", {})
        state["code"] = "INTERNAL_ERROR"
        if not started:
            trace = state.get("trace")
            path = local(scope)
            kind = b"application/json"
            if is_ui(path):  # the dashboard's is a page
                body, kind = internal_error_page(message), b"text/html; charset=utf-8"
            else:
                body = body_for_path(
                    path,
                    "INTERNAL_ERROR",
                    message,
                    now=self.emulator.clock.now(),
                    action=trace.action if trace else None,
                )
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", kind)],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _record(self, scope: Scope, status: int, request_id: str, seconds: float) -> None:
        state = scope.get("state", {})
        path = local(scope)
        trace: Trace = state.get("trace") or Trace(route_action(path))
        code: str | None = state.get("code")
        duration_ms = round(seconds * 1000, 3)
        self.metrics.observe(
            label(path),
            status,
            code,
            seconds,
            api_key=trace.api_key,
            credits=trace.credits,
            injected=trace.injected,
        )
        if access_log.isEnabledFor(logging.INFO):
            access_line(
                {
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": masked_path(scope["path"]),
                    "status": status,
                    "code": code,
                    "api_key": mask(trace.api_key),
                    "account_id": trace.account_id,
                    "action": trace.action,
                    "credits": trace.credits,
                    "injected": trace.injected,
                    "ms": duration_ms,
                }
            )
        if is_v2(path):
            await self.emulator.record(
                trace,
                method=scope["method"],
                path=scope["path"],
                status=status,
                code=code,
                duration_ms=duration_ms,
                request_id=request_id,
            )


class EnvelopeCORSMiddleware(CORSMiddleware):
    """CORS for browser front ends in demos (EMULATOR_CORS_ORIGINS): Starlette's rules, with
    the preflight's own answers in the emulator's shapes. Starlette refuses a preflight with a
    text/plain 400; ours is the v2 envelope (or the control plane's shape under /_emulator),
    and an accepted one an empty 204 (browsers read only its headers)."""

    def __init__(self, app: ASGIApp, /, *, clock: Clock, **options: Any) -> None:
        super().__init__(app, **options)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                await self._preflight(local(scope), headers)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _preflight(self, path: str, request_headers: Headers) -> Response:
        answer = self.preflight_response(request_headers)
        # Its CORS headers and Vary (caches must key on the origin); not its text length and type.
        headers = {
            k: v
            for k, v in answer.headers.items()
            if k.startswith("access-control-") or k == "vary"
        }
        if answer.status_code == 200:
            return Response(status_code=204, headers=headers)
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
        message = f"CORS preflight refused: {refused} not allowed"
        body = body_for_path(path, "INVALID_PARAMS", message, now=self.clock.now())
        return Response(body, 400, headers, media_type="application/json")
