"""uvicorn's HTTP protocol, with the answer no route gives in the vendor's envelope too.

A request the HTTP parser rejects (a bad request line, a broken header, a bad chunk) never
reaches the app: uvicorn answers it by itself with a text/plain 400. Ours answers
`INVALID_PARAMS` in the shape of the path's side (the v2 envelope with the route's action, or
the control plane's), with the request id and version headers, and logs that id. It overrides
uvicorn internals (`send_400_response`, `url`); tests/test_errors.py drives both over a socket.
"""

from __future__ import annotations

import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app import __version__
from app.control import error_for_path
from app.observability import log

MALFORMED = "Malformed HTTP request: the request line, a header or the body framing is invalid"


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; only the parser's 400 differs."""

    def send_400_response(self, msg: str) -> None:
        # The target, when the parser got that far, picks the side's shape and the route's action.
        path = getattr(self, "url", b"").partition(b"?")[0].decode("latin-1")
        body = error_for_path(path, "INVALID_PARAMS", MALFORMED)
        request_id = os.urandom(16).hex()
        log.warning("malformed HTTP request", extra={"fields": {"request_id": request_id}})
        head = [
            b"HTTP/1.1 400 Bad Request",
            *(name + b": " + value for name, value in self.server_state.default_headers),
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"x-request-id: " + request_id.encode(),
            b"x-emulator-version: " + __version__.encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        """No route upgrades (`ws="none"`): the request is served as plain HTTP. uvicorn would
        log that no WebSocket library is installed, which is not the reason."""
        log.info("Upgrade header ignored: the emulator speaks plain HTTP only")
