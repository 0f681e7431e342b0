"""The store tests' real redis-server: one per test session (per xdist worker), each test's
state under a key prefix of its own (tests/support/stores.py); the backend every contract
test runs on, and anyio's loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import start_session_server, stop_session_server
from tests.support.stores import BACKENDS, Backend, backend


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[None]:
    # Session-scoped, so it starts before the guard that refuses processes to fast tests.
    start_session_server()
    yield
    stop_session_server()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each store backend in turn (memory, file, redis), fresh for the test."""
    return backend(request.param, tmp_path)
