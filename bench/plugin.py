"""What the in-process `linkup` fixture costs a user's test suite, per test.

Usage, from the repository root, with the venv in which linkup-emulator is installed:

    python bench/plugin.py            # 200 tests a run, 3 runs of each kind
    python bench/plugin.py --tests 500 --runs 5

It writes three test files into a temporary project and runs each with pytest (as a user
would, in a fresh process, the plugin loaded from its entry point); the project's conftest
adds up each test's own time (setup + call + teardown, as pytest reports them):

- fixture: each test takes `linkup` (a fresh tenant and account) and makes one
  recommendations call, count=10, on it — the account's first call;
- shared: each test makes the same call on one tenant kept for the session (`linkup_app`);
- bare: each test does nothing.

Per-test cost = median(fixture) - median(bare): what the fixture and a fresh account's first
call add to a test (the target is <= 3 ms); fixture - shared is the fixture's part alone.
Medians over the tests of a run, then the median over runs. The first test of each file also
pays for building the session's app, which the median leaves out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 3.0

# Each kind: the module's head, then one test, repeated.
SUITES = {
    "fixture": (
        "",
        """
def test_{n}(linkup):
    assert linkup.recommendations(count=10).status_code == 200
""",
    ),
    "shared": (
        'BODY = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 10}}\n',
        """
def test_{n}(linkup_app):
    response = linkup_app.post("/v2/network", json=BODY, headers={{"x-api-key": "demo_key"}})
    assert response.status_code == 200
""",
    ),
    "bare": (
        "",
        """
def test_{n}():
    pass
""",
    ),
}


# pytest's own per-phase durations, summed per test and written out at the end.
CONFTEST = """
import json, os

DURATIONS = {}


def pytest_runtest_logreport(report):
    DURATIONS[report.nodeid] = DURATIONS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    with open(os.environ["PLUGIN_BENCH_OUT"], "w") as out:
        json.dump(DURATIONS, out)
"""


def write_suite(folder: Path, kind: str, tests: int) -> Path:
    head, test = SUITES[kind]
    path = folder / f"test_{kind}.py"
    path.write_text(head + "".join(test.format(n=n) for n in range(tests)), encoding="utf-8")
    return path


def per_test_ms(folder: Path, suite: Path) -> float:
    """The median of the tests' own times in one pytest run of `suite`."""
    out = folder / f"{suite.stem}.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        cwd=folder,
        env={**os.environ, "PLUGIN_BENCH_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{suite.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    durations: dict[str, float] = json.loads(out.read_text())
    return statistics.median(durations.values()) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=200, help="tests in each file")
    parser.add_argument("--runs", type=int, default=3, help="runs of each file")
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {kind: [] for kind in SUITES}
    with tempfile.TemporaryDirectory(prefix="linkup-plugin-bench-") as tmp:
        folder = Path(tmp)
        (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        suites = {kind: write_suite(folder, kind, args.tests) for kind in SUITES}
        for _ in range(args.runs):
            for kind, suite in suites.items():  # interleaved, so drift touches every kind
                results[kind].append(per_test_ms(folder, suite))
    median = {kind: statistics.median(times) for kind, times in results.items()}
    cost = median["fixture"] - median["bare"]
    verdict = "ok" if cost <= TARGET_MS else "MISSED"
    print(f"pytest plugin, {args.tests} tests x {args.runs} runs, median ms per test:")
    for kind, value in median.items():
        print(f"  {kind:8} {value:7.3f}")
    print(
        f"linkup fixture + a fresh account's first call: {cost:.3f} ms per test over a bare test"
        f" (fixture alone, over the shared tenant: {median['fixture'] - median['shared']:.3f} ms)"
        f" | target <={TARGET_MS:.0f} ms {verdict}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "plugin.json").write_text(
        json.dumps({"median_ms": median, "runs_ms": results, "cost_ms": cost}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
