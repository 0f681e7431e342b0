"""The OpenAPI tools the contract tests run: where they are, and what to do when one is not.

The npm tools (Redocly CLI, Spectral, Prism) live in tools/node_modules, installed by
`make tools` (`npm ci` from tools/package-lock.json); openapi-python-client is a dev
dependency. A test that needs one skips when it is truly missing, naming it, except under CI
(`CI` set), where a missing tool fails the test: a green CI must have run them all.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi.yaml"
NODE_BIN = REPO / "tools" / "node_modules" / ".bin"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason}; under CI every tool must be installed (make tools)")
    pytest.skip(reason)


def npm_tool(name: str) -> Path:
    """tools/node_modules/.bin/<name>, with node to run it."""
    if shutil.which("node") is None:
        missing("node is not installed (make tools installs it with apt-get)")
    path = NODE_BIN / name
    if not path.exists():
        missing(f"{path.relative_to(REPO)} is not installed (run make tools)")
    return path


def python_tool(name: str) -> Path:
    """A console script of this virtualenv (a dev dependency)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        missing(f"{name} is not installed in {path.parent} (pip install -e '.[dev]')")
    return path


def env() -> dict[str, str]:
    """The environment the tools run in: this virtualenv's scripts first on PATH (the
    generator runs ruff), no telemetry and no update checks (nothing leaves this machine)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")},
        "PATH": path,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_UPDATE_NOTIFIER": "1",
        "DO_NOT_TRACK": "1",
        "SCARF_ANALYTICS": "false",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
