"""CORS for browser front ends in demos (EMULATOR_CORS_ORIGINS): Starlette's rules, with the
preflight's own answers in the emulator's shapes.

A refused preflight is a text/plain 400 from Starlette's middleware; ours is the v2 envelope (or
the control plane's shape under /_emulator), and an accepted one an empty 204 (browsers read
only its headers).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.control import error_for_path


class EnvelopeCORSMiddleware(CORSMiddleware):
    """Starlette's CORS rules; only the preflight's own answers differ."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                await self._preflight(scope["path"], headers)(scope, receive, send)
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
        body = error_for_path(path, "INVALID_PARAMS", message)
        return Response(body, 400, headers, media_type="application/json")
