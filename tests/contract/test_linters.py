"""The common OpenAPI linters find nothing in openapi.yaml: Redocly CLI and Spectral, with the
rulesets at the repository root (redocly.yaml, .spectral.yaml), errors and warnings alike.

Each also lints a copy with findings the issue reported (issue 16) put back, so a ruleset that
stopped checking them would fail here rather than pass quietly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import REPO, SPEC, env, npm_tool

pytestmark = pytest.mark.slow  # each starts node

REDOCLY_CONFIG = REPO / "redocly.yaml"
SPECTRAL_RULESET = REPO / ".spectral.yaml"


def _lint(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The tool's `lint` with JSON output; it must print a report, whatever its exit status."""
    result = subprocess.run(
        [npm_tool(tool), "lint", *args, "--format=json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env(),
        timeout=120,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return result


def redocly(document: Path) -> dict[str, object]:
    result = _lint("redocly", document, "--config", REDOCLY_CONFIG)
    report: dict[str, object] = json.loads(result.stdout)
    report["exit"] = result.returncode
    return report


def spectral(document: Path) -> tuple[list[dict[str, object]], int]:
    # --fail-severity=hint: exit non-zero on anything at all, not only errors.
    result = _lint(
        "spectral", document, "--ruleset", SPECTRAL_RULESET, "--fail-severity=hint", "--quiet"
    )
    findings: list[dict[str, object]] = json.loads(result.stdout)
    return findings, result.returncode


def with_old_findings(tmp_path: Path) -> Path:
    """openapi.yaml with three findings of issue 16 put back: no contact, `/openapi.json`
    requiring properties it does not define, and `GET /metrics` without a 4XX."""
    text = SPEC.read_text(encoding="utf-8")
    for old, new in [
        ("  contact:\n    name: linkup-emulator maintainers\n", ""),
        (
            "      required: [openapi, info, paths]\n"
            "      properties:\n"
            "        openapi:\n"
            "          type: string\n"
            "          const: 3.1.0\n"
            "        info:\n"
            "          type: object\n"
            "        paths:\n"
            "          type: object\n",
            "      required: [openapi, info, paths]\n",
        ),
        (
            "        '400':\n"
            "          $ref: '#/components/responses/Malformed'\n"
            "        '405':\n"
            "          $ref: '#/components/responses/MethodNotAllowed'\n"
            "    head:\n"
            "      tags: [emulator]\n"
            "      operationId: getMetricsHead\n",
            "    head:\n      tags: [emulator]\n      operationId: getMetricsHead\n",
        ),
    ]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_redocly_finds_nothing() -> None:
    report = redocly(SPEC)
    assert report["problems"] == []
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}
    assert report["exit"] == 0


def test_redocly_still_checks_what_it_found_before(tmp_path: Path) -> None:
    report = redocly(with_old_findings(tmp_path))
    problems = report["problems"]
    assert isinstance(problems, list)
    rules = sorted({problem["ruleId"] for problem in problems})
    assert rules == ["no-required-schema-properties-undefined", "operation-4xx-response"]
    assert report["exit"] != 0


def test_spectral_finds_nothing() -> None:
    findings, code = spectral(SPEC)
    assert findings == []
    assert code == 0


def test_spectral_still_checks_what_it_found_before(tmp_path: Path) -> None:
    findings, code = spectral(with_old_findings(tmp_path))
    assert sorted({str(finding["code"]) for finding in findings}) == ["info-contact"]
    assert code != 0
