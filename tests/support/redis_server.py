"""Real `redis-server` processes for the tests: on a free 127.0.0.1 port, in their own folder.

Never a fake: the Redis store is tested against the server it runs on. Where redis-server is
missing, a test needing it skips with the reason, except under CI (`CI` set), where it fails:
`make test` installs the package first, so a CI run without it is broken, not excused.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.support.servers import free_port, stop_process

START_TIMEOUT_S = 10.0


def require_redis_server() -> str:
    """The redis-server binary, or skip (fail under CI) saying why."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server; make test does)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return binary


class RedisServer:
    """One redis-server process; `stop()` and `start()` again keep its folder (and AOF)."""

    def __init__(self, folder: Path | None = None, *, aof: bool = False) -> None:
        self.binary = require_redis_server()
        self.folder = folder or Path(tempfile.mkdtemp(prefix="emulator-redis-"))
        self.aof = aof
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._prefixes = itertools.count()
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--save", "", "--appendonly", "yes" if self.aof else "no", "--appendfsync", "always",
            "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log_text = (self.folder / "redis.log").read_text(errors="replace")
                    raise RuntimeError(f"redis-server did not start: {log_text[-2000:]}")
                time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL: what the AOF holds is all that is kept)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def prefix(self) -> str:
        """A key prefix no other test of this session uses: its own state on a shared server."""
        return f"test-{os.getpid()}-{next(self._prefixes)}-{uuid.uuid4().hex[:8]}:"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_session: RedisServer | None = None


def session_server() -> RedisServer:
    """The session's shared server, started by the `redis_server` fixture (conftest)."""
    if _session is None:
        require_redis_server()
        raise RuntimeError("the session's redis-server was not started (redis_server fixture)")
    return _session


def start_session_server() -> RedisServer | None:
    global _session
    if shutil.which("redis-server") is None and not os.environ.get("CI"):
        return None  # the tests that need it skip, saying why
    _session = RedisServer()
    return _session


def stop_session_server() -> None:
    global _session
    if _session is not None:
        _session.close()
        _session = None
