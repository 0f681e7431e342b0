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

from linkup_emulator import __version__
from linkup_emulator.api.errors import body_for_path
from linkup_emulator.clock import Clock, SystemClock
from linkup_emulator.observability.logging import log

MALFORMED = "Malformed HTTP request: the request line, a header or the body framing is invalid"


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; only the parser's 400 differs."""

    def send_400_response(self, msg: str) -> None:
        # The target, when the parser got that far, picks the side's shape and the route's action.
        path = getattr(self, "url", b"").partition(b"?")[0].decode("latin-1")
        body = body_for_path(path, "INVALID_PARAMS", MALFORMED, now=self._clock().now())
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

    def _clock(self) -> Clock:
        """The emulator's clock, found through the app uvicorn wraps (its proxy-headers and
        logging middlewares each keep the next app as `.app`)."""
        app = self.app
        for _ in range(8):
            emulator = getattr(getattr(app, "state", None), "emulator", None)
            if emulator is not None:
                clock: Clock = emulator.clock
                return clock
            app = getattr(app, "app", None)
        return SystemClock()

    def _unsupported_upgrade_warning(self) -> None:
        """No route upgrades (`ws="none"`): the request is served as plain HTTP. uvicorn would
        log that no WebSocket library is installed, which is not the reason."""
        log.info("Upgrade header ignored: the emulator speaks plain HTTP only")
