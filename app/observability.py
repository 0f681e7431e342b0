"""Request ids, one JSON log line per request, Prometheus metrics, the journal, last-resort 500s."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
import time
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__, envelope
from app.control import error_for_path, mask
from app.dispatch import Emulator, Trace, route_action, route_template
from app.errors import MSG_INTERNAL_ERROR
from app.store import JournalEntry

log = logging.getLogger("linkup_emulator")
access_log = logging.getLogger("linkup_emulator.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": envelope.timestamp(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes lines in batches: one write per batch, not one flushed write per request.
    Warnings and errors go out at once; a quiet server's lines wait at most FLUSH_S."""

    FLUSH_LINES = 64
    FLUSH_S = 0.2

    def __init__(self) -> None:
        super().__init__()
        self._lines: list[str] = []
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.add(line, urgent=record.levelno >= logging.WARNING)

    def add(self, line: str, *, urgent: bool = False) -> None:
        """A formatted line; the access log's fast path comes straight here."""
        with self.lock:  # type: ignore[union-attr]
            self._lines.append(line)
            if urgent or len(self._lines) >= self.FLUSH_LINES:
                self._write()
            elif self._timer is None:
                self._timer = threading.Timer(self.FLUSH_S, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _write(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            self.stream.write("\n".join(self._lines) + "\n")
            self._lines.clear()
        self.stream.flush()


def configure_logging(level: str) -> None:
    """One JSON handler on our logger; called once per app, idempotent."""
    if not any(isinstance(h.formatter, JsonFormatter) for h in log.handlers):
        handler = BatchedStreamHandler()
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level.upper())


def tenant_label(api_key: str | None, secret: bytes = b"") -> str:
    """The masked key, which two keys can share ("****_key"), plus 6 hex of an HMAC-SHA256 of
    it so their credits stay apart: "****_key#7f4711" for demo_key without a secret. The secret
    is the admin token when one is set: /metrics is open, and with the mask's length and last
    4 characters an unkeyed hash would let a short key be guessed offline."""
    digest = hmac.new(secret, (api_key or "").encode(), hashlib.sha256).hexdigest()[:6]
    return f"{mask(api_key)}#{digest}"


class Metrics:
    """Per-app metrics; with PROMETHEUS_MULTIPROC_DIR set (several workers) they add up."""

    def __init__(self, label_secret: bytes = b"") -> None:
        self._label_secret = label_secret
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self._counters: dict[tuple[str, int, str | None], Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._tenants: dict[str | None, Counter] = {}
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "emulator_requests",
            "Requests answered",
            ["route", "status", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "emulator_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 30),
        )
        self.credits = Counter(
            "emulator_credits_consumed", "Credits debited", ["tenant"], registry=self.registry
        )
        self.injected = Counter(
            "emulator_injected_faults",
            "Errors injected by header or fault rule",
            ["code"],
            registry=self.registry,
        )

    def observe(self, route: str, entry: JournalEntry, seconds: float) -> None:
        # labels() costs a lock and a tuple build per call; the few children are kept here.
        key = (route, entry.status, entry.code)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(
                route, str(entry.status), entry.code or ""
            )
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        histogram.observe(seconds)
        if entry.credits:
            tenant = self._tenants.get(entry.api_key)
            if tenant is None:
                tenant = self._tenants[entry.api_key] = self.credits.labels(
                    tenant_label(entry.api_key, self._label_secret)
                )
            tenant.inc(entry.credits)
        if entry.injected:
            self.injected.labels(entry.code or "").inc()

    def exposition(self) -> tuple[bytes, str]:
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _access_line(fields: dict[str, object]) -> None:
    """One access line. While our own batched handler is the only one (the server as started),
    the line is built here and handed to it: a LogRecord and the handler chain cost a sixth of
    a request (measured). Any other handler, a test's or a user's, gets a proper record."""
    handlers = log.handlers
    if (
        len(handlers) == 1
        and isinstance(handlers[0], BatchedStreamHandler)
        and not (access_log.handlers or access_log.filters or log.filters)
    ):
        line = {
            "time": envelope.timestamp(),
            "level": "info",
            "logger": access_log.name,
            "message": "request",
            **fields,
        }
        handlers[0].add(orjson.dumps(line).decode())
        return
    record = logging.LogRecord(access_log.name, logging.INFO, "", 0, "request", None, None)
    record.fields = fields
    access_log.handle(record)


def _route(scope: Scope) -> str:
    """A low-cardinality label: the matched route's template."""
    route = scope.get("route")
    return getattr(route, "path", None) or route_template(scope["path"]) or "unmatched"


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

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unexpected error", extra={"fields": {"request_id": request_id}})
            state = scope.setdefault("state", {})
            state["code"] = "INTERNAL_ERROR"
            if not response_started:
                trace = state.get("trace")
                action = trace.action if trace else None
                body = error_for_path(scope["path"], "INTERNAL_ERROR", MSG_INTERNAL_ERROR, action)
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        self._record(scope, status, request_id, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, request_id: str, seconds: float) -> None:
        state = scope.get("state", {})
        trace: Trace | None = state.get("trace")
        code: str | None = state.get("code")
        path: str = scope["path"]
        entry = JournalEntry(
            time=envelope.timestamp(),
            method=scope["method"],
            path=path,
            api_key=trace.api_key if trace else None,
            account_id=trace.account_id if trace else None,
            action=trace.action if trace else route_action(path),
            status=status,
            code=code,
            credits=trace.credits if trace else 0,
            duration_ms=round(seconds * 1000, 3),
            injected=trace.injected if trace else False,
            request_id=request_id,
        )
        self.metrics.observe(_route(scope), entry, seconds)
        if access_log.isEnabledFor(logging.INFO):
            fields = {
                "request_id": request_id,
                "method": entry.method,
                "path": path,
                "status": status,
                "code": code,
                "api_key": mask(entry.api_key),
                "account_id": entry.account_id,
                "action": entry.action,
                "credits": entry.credits,
                "injected": entry.injected,
                "ms": entry.duration_ms,
            }
            _access_line(fields)
        if path.startswith("/v2/") or path == "/v2":
            self.emulator.store.journal_add(entry, self.emulator.settings.journal_size)


_VERSION = __version__.encode()
