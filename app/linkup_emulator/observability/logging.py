"""Log lines: one JSON object a line, written in batches; the access line of each request.

Log lines tell real time (the machine's clock), not the emulated one: they are read beside
other services' logs.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson

from linkup_emulator.clock import SystemClock
from linkup_emulator.envelope import Stamp

REAL_TIME = SystemClock()  # log lines are read beside other systems' logs: never emulated
log_stamp = Stamp()
log = logging.getLogger("linkup_emulator")
access_log = logging.getLogger("linkup_emulator.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": log_stamp(REAL_TIME.now()),
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


def access_line(fields: dict[str, object]) -> None:
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
            "time": log_stamp(REAL_TIME.now()),
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


class Burst:
    """One error logged once per burst: the first at once (with its traceback, if any), the
    repeats counted into one line per `every` seconds. A full disk fails every call; its
    traceback each time was megabytes of log."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._logged_at: dict[str, float] = {}
        self._repeats: dict[str, int] = {}

    def error(self, message: str, *, exc_info: bool = False, **fields: object) -> None:
        now = time.monotonic()
        with self._lock:
            last = self._logged_at.get(message)
            if last is not None and now - last < self.every:
                self._repeats[message] = self._repeats.get(message, 0) + 1
                return
            repeats = self._repeats.pop(message, 0)
            self._logged_at[message] = now
        if repeats:
            fields["repeats"] = repeats  # since the last line of this message
        log.error(message, exc_info=exc_info, extra={"fields": fields})


STORE_ERRORS = Burst()
