"""The two answers no route gives, in the vendor's envelope like every other error.

- A request the HTTP parser rejects (a bad request line, a broken header, a bad chunk) never
  reaches the app: uvicorn answers it by itself with a text/plain 400. Our protocol answers
  `INVALID_PARAMS` in the shape of the path's side (the v2 envelope with the route's action, or
  the control plane's), with the request id and version headers.
- A refused CORS preflight is a text/plain 400 from Starlette's middleware; ours is the
  envelope too, and an accepted one is an empty 204 (browsers read only its headers).
"""

from __future__ import annotations

import os

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app import __version__, envelope
from app.control import error_body, is_control
from app.dispatch import route_action

MALFORMED = "Malformed HTTP request: the request line, a header or the body framing is invalid"


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; only the parser's 400 differs."""

    def send_400_response(self, msg: str) -> None:
        # The target, when the parser got that far, picks the side's shape and the route's action.
        path = getattr(self, "url", b"").partition(b"?")[0].decode("latin-1")
        if is_control(path):
            body = error_body("INVALID_PARAMS", MALFORMED)
        else:
            body = envelope.error("INVALID_PARAMS", MALFORMED, action=route_action(path))
        head = [
            b"HTTP/1.1 400 Bad Request",
            *(name + b": " + value for name, value in self.server_state.default_headers),
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"x-request-id: " + os.urandom(16).hex().encode(),
            b"x-emulator-version: " + __version__.encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


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
        headers = {k: v for k, v in answer.headers.items() if k.startswith("access-control-")}
        if answer.status_code == 200:
            return Response(status_code=204, headers=headers)
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
        message = f"CORS preflight refused: {refused} not allowed"
        if is_control(path):
            body = error_body("INVALID_PARAMS", message)
        else:
            body = envelope.error("INVALID_PARAMS", message, action=route_action(path))
        return Response(body, 400, headers, media_type="application/json")
