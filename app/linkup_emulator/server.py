"""uvicorn's HTTP protocol, with the answers no route gives in the vendor's envelope too, and
the limits a hostile client meets before any route runs.

A request the HTTP parser rejects (a bad request line, a broken header, a bad chunk) never
reaches the app: uvicorn answers it by itself with a text/plain 400. Ours answers
`INVALID_PARAMS` in the shape of the path's side (the v2 envelope with the route's action, or
the control plane's), with the request id and version headers, and logs that id. It overrides
uvicorn internals (`send_400_response`, `url`, the parser callbacks, flow control's
`pause_writing`); tests/test_errors.py and tests/test_hardening.py drive them over sockets.

The limits (ConnectionLimits, from the settings, found through the app as the clock is):
- a request head (request line and headers) of at most MAX_HEAD bytes and MAX_HEADERS
  headers, else 431 and the connection closes: httptools would buffer a header without end;
- a head complete within `head_timeout_s` of the connection (or of the previous response),
  else the connection closes (408 if part of a head came): a silent or slow socket holds a
  file descriptor for ever otherwise;
- at most `max_connections` open connections: past it a new one is answered 503 at once and
  closed, and the refusals are logged (once per burst);
- a response left unread for `write_timeout_s` (the socket's buffers full) aborts the
  connection: a client that pipelines and never reads would hold its responses for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from linkup_emulator import __version__
from linkup_emulator.api.errors import body_for_path
from linkup_emulator.clock import Clock, SystemClock
from linkup_emulator.limits import DEFAULT_LIMITS
from linkup_emulator.observability.logging import log

MALFORMED = "Malformed HTTP request: the request line, a header or the body framing is invalid"
MAX_HEAD = 64 * 1024  # nginx's large_client_header_buffers is 4 x 8 KiB; Node's limit 16 KiB
MAX_HEADERS = 256  # Node's default is 2000 headers, Go's 1 MiB of them; clients send ~20
HEAD_TOO_LARGE = f"Request head too large: at most {MAX_HEAD // 1024} KiB and {MAX_HEADERS} headers"
HEAD_TIMEOUT = "Request head not received in time"
OVERLOADED = "Too many open connections; try again shortly"
REFUSAL_LOG_S = 10.0  # refusals are logged once per this many seconds, with their count

STATUS_TEXT = {
    400: b"Bad Request",
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


class _Refusals:
    """Connections refused for the cap: the first of a burst logged at once, the rest counted
    into one line per REFUSAL_LOG_S."""

    def __init__(self) -> None:
        self.count = 0
        self.logged_at = -REFUSAL_LOG_S

    def add(self, open_connections: int, cap: int) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged_at >= REFUSAL_LOG_S:
            log.warning(
                f"refused {self.count} connection(s): {open_connections} open, the cap is"
                f" {cap} (EMULATOR_MAX_CONNECTIONS)"
            )
            self.count, self.logged_at = 0, now


REFUSALS = _Refusals()


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol; its own answers in the envelope, and the limits above."""

    _oversized = False
    _head_completed = False
    _head_open = True  # bytes now arriving belong to a request head
    _head_bytes = 0
    _head_count = 0
    _head_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None
    _limits = DEFAULT_LIMITS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._limits = self._found("limits", DEFAULT_LIMITS)
        cap = self._limits.max_connections
        if len(self.connections) > cap:
            REFUSALS.add(len(self.connections), cap)
            self._refuse(503, OVERLOADED, code="INTERNAL_ERROR")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    # -- the request head ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        counted = self._head_open
        self._head_completed = False
        super().data_received(data)
        if self.transport.is_closing() or not self._head_open:
            return
        # Still inside a head: what httptools holds of it grows with every byte sent. A head
        # that began within this chunk (after a pipelined request) is counted from the next.
        if counted and not self._head_completed:
            self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD:
            self._refuse(431, HEAD_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_count = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_count += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        if len(self.headers) > MAX_HEADERS or self._head_count + len(value) > MAX_HEAD:
            self._oversized = True
            raise _HeadTooLarge  # httptools raises it as an HttpParserCallbackError
        self._head_count += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        self._head_open, self._head_completed = False, True
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True  # what comes next is the next request's head

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._limits.head_timeout_s, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._head_open:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head begun while the previous answer is still going out: its
            # deadline counts from when that answer is done.
            self._arm_head_timer()
            return
        if self._head_bytes or self._head_count:  # part of a head came: say why, then close
            self._refuse(408, HEAD_TIMEOUT)
            return
        self.transport.close()

    # -- writes nobody reads --------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self._limits.write_timeout_s, self._write_late)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _write_late(self) -> None:
        self._write_timer = None
        log.warning(
            f"connection aborted: its responses went unread for {self._limits.write_timeout_s} s"
        )
        self.transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._write_timer = None

    # -- answers of the protocol's own ------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        if self._oversized:
            self._refuse(431, HEAD_TOO_LARGE)
            return
        self._refuse(400, MALFORMED)

    def _refuse(self, status: int, message: str, *, code: str = "INVALID_PARAMS") -> None:
        """An answer in the path's envelope (when the parser got as far as the target), then
        the connection closes."""
        path = getattr(self, "url", b"").partition(b"?")[0].decode("latin-1")
        body = body_for_path(path, code, message, now=self._clock().now())
        request_id = os.urandom(16).hex()
        if status != 503:  # refusals for the cap are counted, not logged one by one
            log.warning(
                "malformed HTTP request" if status == 400 else message,
                extra={"fields": {"request_id": request_id, "status": status}},
            )
        head = [
            b"HTTP/1.1 " + str(status).encode() + b" " + STATUS_TEXT[status],
            *(name + b": " + value for name, value in self.server_state.default_headers),
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"x-request-id: " + request_id.encode(),
            b"x-emulator-version: " + __version__.encode(),
            b"connection: close",
        ]
        self._cancel_timers()
        self._head_open = False
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _found(self, name: str, default: Any) -> Any:
        """The app's state `name`, found through the app uvicorn wraps (its proxy-headers and
        logging middlewares each keep the next app as `.app`)."""
        app = self.app
        for _ in range(8):
            state = getattr(app, "state", None)
            if state is not None and hasattr(state, name):
                return getattr(state, name)
            app = getattr(app, "app", None)
        return default

    def _clock(self) -> Clock:
        """The emulator's clock (the system's before any app is found)."""
        emulator = self._found("emulator", None)
        if emulator is None:
            return SystemClock()
        clock: Clock = emulator.clock
        return clock

    def _unsupported_upgrade_warning(self) -> None:
        """No route upgrades (`ws="none"`): the request is served as plain HTTP. uvicorn would
        log that no WebSocket library is installed, which is not the reason."""
        log.info("Upgrade header ignored: the emulator speaks plain HTTP only")


class _HeadTooLarge(Exception):
    """Raised from a parser callback: httptools turns it into an HttpParserCallbackError."""


class Server(uvicorn.Server):
    """uvicorn's server, which exits with status 0 once a SIGTERM or SIGINT has shut it down
    gracefully: uvicorn raises the signal again at the end, so the process died of it (-15),
    which process managers read as a crash."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()
