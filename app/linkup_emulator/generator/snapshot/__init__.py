"""Committed snapshot of the Faker data the vocabularies are built from.

The server reads these files and never imports Faker (whose import alone costs ~75 ms, most of
a cold start). Faker remains the source: after a Faker bump, regenerate with

    python -m linkup_emulator.generator.snapshot

and review `git diff app/linkup_emulator/generator/snapshot/`
(tests/generator/test_generator_snapshot.py fails
until the files match the installed Faker).

One file per Faker provider module, named after it relative to `faker.providers`
("person.en_US.json", "company.json", "job.fr_FR.json"), holds the Provider attributes the
vocabulary reads from it, in Faker's own order (order is meaning: weights accumulate in it),
one entry per line so that a Faker bump reads as a plain diff. manifest.json records the Faker
version and which modules each country reads (a locale without a company provider of its own
reads Faker's generic one, "company").
"""

from __future__ import annotations

import os
from typing import Any

import orjson

REGENERATE = "python -m linkup_emulator.generator.snapshot"
# os.path rather than pathlib, which this process may otherwise never import (~4 ms).
DIRECTORY = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(DIRECTORY, "manifest.json")


def path(module: str) -> str:
    """The file of a provider module ("person.en_US")."""
    return os.path.join(DIRECTORY, f"{module}.json")


def _read(path: str) -> Any:
    with open(path, "rb") as file:
        return orjson.loads(file.read())


def load(country: str) -> dict[str, dict[str, Any]]:
    """The Faker provider attributes a country's vocabulary reads, keyed by provider module."""
    modules: list[str] = _read(MANIFEST)["countries"][country]
    return {module: _read(path(module)) for module in modules}
