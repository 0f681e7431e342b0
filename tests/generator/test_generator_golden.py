"""Golden files: generated people pinned to the byte, so a Faker bump or a generator change shows
up as a reviewable diff instead of silent drift.

Regenerate after an intended change with:

    UPDATE_GOLDEN=1 pytest tests/generator/test_generator_golden.py

then review `git diff tests/generator/golden/` before committing. The generator reads Faker's
lists from the committed snapshot (app/linkup_emulator/generator/snapshot/), so a Faker bump
first fails test_generator_snapshot.py; regenerate the snapshot
(`python -m linkup_emulator.generator.snapshot`), then
these files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from linkup_emulator.generator import PeopleGenerator

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("golden-seed", "acc_demo", "US"),
    ("golden-seed", "acc_paris", "FR"),
    ("golden-seed", "acc_berlin", "DE"),
    ("golden-seed", "acc_telaviv", "IL"),
    ("other-seed", "acc_demo", "US"),
]


def snapshot(seed: str, account: str, country: str) -> dict[str, Any]:
    pool = PeopleGenerator(seed).pool(account, country, 1000)
    return {
        "seed": seed,
        "account_id": account,
        "country": country,
        "connection_count": pool.connection_count,
        "recommendations": pool.records(20),
        "connections": pool.connections[:5],
    }


@pytest.mark.parametrize(
    ("seed", "account", "country"), CASES, ids=[c[2] + "-" + c[0] for c in CASES]
)
def test_generated_people_match_the_golden_file(seed: str, account: str, country: str) -> None:
    path = GOLDEN / f"{seed}__{account}__{country}.json"
    actual = snapshot(seed, account, country)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path.name}: run UPDATE_GOLDEN=1 pytest {__file__}"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert actual == expected
