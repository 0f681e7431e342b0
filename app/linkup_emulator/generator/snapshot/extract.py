"""Reads the snapshot's data out of the installed Faker (build time only: this imports Faker)."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from linkup_emulator.generator import snapshot
from linkup_emulator.generator.vocabulary import (
    PROVIDER_ATTRIBUTES,
    SUPPORTED_COUNTRIES,
    provider_modules,
)

DIRECTORY = Path(snapshot.DIRECTORY)


def _provider(module: str) -> Any:
    return importlib.import_module(f"faker.providers.{module}").Provider


def _plain(module: str, attr: str, value: Any) -> list[str] | dict[str, float]:
    """value as JSON-ready data, checked: a list of words, or words with numeric weights."""
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and isinstance(w, (int, float)) for k, w in value.items()):
            return dict(value)
    elif all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"faker.providers.{module}.Provider.{attr} has an unexpected shape")


def _attributes(kind: str, module: str) -> dict[str, Any]:
    """The attributes of PROVIDER_ATTRIBUTES[kind] that are lists or weighted mappings, as
    getattr on the Provider class sees them (inherited ones included).
    """
    provider = _provider(module)
    attributes = {}
    for attr in PROVIDER_ATTRIBUTES[kind]:
        value = getattr(provider, attr, None)
        if isinstance(value, (tuple, list, dict)):
            attributes[attr] = _plain(module, attr, value)
    return attributes


def _name(module: str) -> str:
    return Path(snapshot.path(module)).name


def _encode(data: Any, indent: int) -> bytes:
    # Keys are never sorted: weighted mappings are picked by cumulative weight in Faker's order.
    return (json.dumps(data, ensure_ascii=False, indent=indent) + "\n").encode()


def render() -> dict[str, bytes]:
    """Every snapshot file, by name, as the installed Faker gives it."""
    countries: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    for country in sorted(SUPPORTED_COUNTRIES):
        countries[country] = []
        for kind, candidates in provider_modules(country):
            for module in candidates:
                if _name(module) not in files:
                    try:
                        data = _attributes(kind, module)
                    except ModuleNotFoundError:
                        continue
                    # indent=0: one entry per line, no indentation to pay for.
                    files[_name(module)] = _encode(data, 0)
                countries[country].append(module)
                break
            else:
                raise ModuleNotFoundError(f"none of faker.providers.{candidates} exists")
    manifest = {"faker": importlib.metadata.version("faker"), "countries": countries}
    files[Path(snapshot.MANIFEST).name] = _encode(manifest, 2)
    return files


def stale() -> dict[str, bytes | None]:
    """Files (by name) whose committed bytes differ from what the installed Faker gives: their
    new bytes, or None for a committed file Faker no longer gives.
    """
    fresh = render()
    out: dict[str, bytes | None] = {
        name: data
        for name, data in fresh.items()
        if not (DIRECTORY / name).exists() or (DIRECTORY / name).read_bytes() != data
    }
    out.update((p.name, None) for p in DIRECTORY.glob("*.json") if p.name not in fresh)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=snapshot.REGENERATE,
        description="Rewrite the snapshot (generator/snapshot/*.json) from the installed Faker.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any file is out of date"
    )
    check = parser.parse_args(argv).check
    changes = stale()
    for name, data in sorted(changes.items()):
        target = DIRECTORY / name
        verb = "removed" if data is None else "updated" if target.exists() else "created"
        print(f"{name}: {'out of date' if check else verb}")
        if check:
            continue
        if data is None:
            target.unlink()
        else:
            target.write_bytes(data)
    if not changes:
        print(f"snapshot matches Faker {importlib.metadata.version('faker')}")
    return 1 if check and changes else 0
