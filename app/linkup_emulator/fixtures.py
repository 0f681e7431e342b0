"""Loads and validates the fixture tenants (YAML) that the store is seeded with at start."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from linkup_emulator.models import FixtureFile, TenantSpec, first_problem

# libyaml's safe loader when the wheel has it: the pure-Python one took ~15 ms of every start.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FixtureError(Exception):
    """A fixture file that cannot be used; the message names the file, the field and the reason."""


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"})
    if path.is_file():
        return [path]
    raise FixtureError(f"{path}: no such file or folder")


def _location(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def load_file(path: Path) -> list[TenantSpec]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        # One line: the parser's own message spans several, with a caret under the text.
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise FixtureError(f"{path}: cannot be read as YAML{where}: {exc.problem}") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FixtureError(f"{path}: cannot be read as YAML: {exc}") from exc
    try:
        return FixtureFile.model_validate(raw).tenants
    except ValidationError as exc:
        loc, message = first_problem(exc)
        where = _location(loc) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FixtureError(f"{path}: {where}: {message}{more}") from exc


def load(path: Path) -> list[TenantSpec]:
    """Every tenant of a file or folder; keys and account ids must be unique across all files."""
    tenants: list[TenantSpec] = []
    keys: dict[str, Path] = {}
    accounts: dict[str, Path] = {}
    for file in _files(path):
        for t, tenant in enumerate(load_file(file)):
            if tenant.api_key in keys:
                raise FixtureError(
                    f"{file}: tenants[{t}].api_key: '{tenant.api_key}' is also in"
                    f" {keys[tenant.api_key]}"
                )
            keys[tenant.api_key] = file
            for a, account in enumerate(tenant.accounts):
                if account.account_id in accounts:
                    raise FixtureError(
                        f"{file}: tenants[{t}].accounts[{a}].account_id: '{account.account_id}'"
                        f" is also in {accounts[account.account_id]}"
                    )
                accounts[account.account_id] = file
            tenants.append(tenant)
    return tenants
