"""The client openapi-python-client generates from openapi.yaml, shared by the tests that drive
the emulator through it (directly, and through Prism)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.tools import REPO, SPEC, env, python_tool

PACKAGE = "linkup_emulator_client"
CONFIG = REPO / "tools" / "openapi-python-client.yaml"


def generate(out: Path) -> list[str]:
    """Generate the client into `out` (a package folder); what the generator printed."""
    result = subprocess.run(
        [
            python_tool("openapi-python-client"),
            "generate",
            "--path",
            SPEC,
            "--meta",
            "none",
            "--output-path",
            out,
            "--config",
            CONFIG,
        ],
        capture_output=True,
        text=True,
        env=env(),  # this virtualenv's ruff on PATH, for the generator's formatting hooks
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (result.stdout + result.stderr).splitlines()


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, list[str]]]:
    """The generated package, imported, and the generator's output lines."""
    out = tmp_path_factory.mktemp("client") / PACKAGE
    printed = generate(out)
    sys.path.insert(0, str(out.parent))
    try:
        yield importlib.import_module(PACKAGE), printed
    finally:
        sys.path.remove(str(out.parent))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
