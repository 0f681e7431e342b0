"""The committed Faker snapshot (app/generator/snapshot/): in step with the installed Faker, and
the only thing the generator reads at run time (Faker itself is never imported by the server).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from linkup_emulator.generator import SUPPORTED_COUNTRIES, snapshot
from linkup_emulator.generator.snapshot import extract

REPO = Path(__file__).resolve().parents[2]


def _diff(name: str, new: bytes | None) -> str:
    committed = extract.DIRECTORY / name
    old = committed.read_text(encoding="utf-8") if committed.exists() else ""
    lines = difflib.unified_diff(
        old.splitlines(),
        (new or b"").decode().splitlines(),
        f"committed/{name}",
        f"faker-{importlib.metadata.version('faker')}/{name}",
        lineterm="",
    )
    return "\n".join(list(lines)[:40])


def test_the_snapshot_matches_the_installed_faker() -> None:
    """A Faker bump that changes any list the generator reads fails here, with the diff."""
    stale = extract.stale()
    assert not stale, (
        f"app/linkup_emulator/generator/snapshot/ is out of date with the installed Faker "
        f"({', '.join(sorted(stale))}): run `{snapshot.REGENERATE}`, review "
        f"`git diff app/linkup_emulator/generator/snapshot/` and the golden files, and commit.\n"
        + "\n".join(_diff(name, data) for name, data in sorted(stale.items()))
    )


def test_the_manifest_covers_every_supported_country() -> None:
    manifest = orjson.loads(Path(snapshot.MANIFEST).read_bytes())
    assert set(manifest["countries"]) == SUPPORTED_COUNTRIES
    for modules in manifest["countries"].values():
        assert all(Path(snapshot.path(module)).is_file() for module in modules)


@pytest.mark.slow
def test_generating_people_never_imports_faker() -> None:
    """Faker costs ~75 ms to import: the server must not pay it, in any country or record."""
    script = (
        "import sys\n"
        "from linkup_emulator.generator import SUPPORTED_COUNTRIES, PeopleGenerator\n"
        "from linkup_emulator.generator.vocabulary import vocabulary\n"
        "generator = PeopleGenerator('no-faker')\n"
        "for country in sorted(SUPPORTED_COUNTRIES):\n"
        "    vocabulary(country)\n"
        "    pool = generator.pool('acc', country, 1000)\n"
        "    assert pool.json_array(50).startswith(b'[{')\n"
        "    assert pool.records(5) and pool.connections\n"
        "print(sorted(m for m in sys.modules if m == 'faker' or m.startswith('faker.')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, check=True
    )
    assert done.stdout.strip() == b"[]"
