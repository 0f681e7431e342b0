"""The store tests' real redis-server: one per test session (per xdist worker), each test's
state under a key prefix of its own (tests/support/stores.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_server import start_session_server, stop_session_server


@pytest.fixture(scope="session", autouse=True)
def redis_server() -> Iterator[None]:
    # Session-scoped, so it starts before the guard that refuses processes to fast tests.
    start_session_server()
    yield
    stop_session_server()
