"""Where the files shipped beside the code are: repo root in a checkout, the package in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(repo_name: str, wheel_name: str) -> Path:
    """The wheel maps repo-root files into the package (see pyproject's force-include); in a
    checkout the package sits in app/, under the repo root."""
    inside = _PACKAGE / wheel_name
    return inside if inside.exists() else _PACKAGE.parent.parent / repo_name


OPENAPI_PATH = bundled("openapi.yaml", "openapi.yaml")
DEFAULT_FIXTURES = bundled("fixtures", "fixtures_default")
