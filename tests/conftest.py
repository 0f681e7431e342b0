"""Shared fixtures: one fresh app per test, built from explicit settings (no env juggling)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings


@pytest.fixture(autouse=True)
def _processes_only_when_slow(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make check` runs the tests not marked slow, in parallel, in seconds: a test that starts
    a process (a server, a tool, a child interpreter) must say so with @pytest.mark.slow."""
    if request.node.get_closest_marker("slow"):
        return

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture(autouse=True)
def _no_emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read EMULATOR_*; a developer's shell must not change what a test sees."""
    import os

    for name in list(os.environ):
        if name.startswith("EMULATOR_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings() -> Settings:
    return Settings(seed="test-seed", log_level="warning")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
