"""Profile the emulator under wrk load with py-spy and print its hottest functions per count.

Usage, from the repository root, with the venv in which linkup-emulator is installed:

    python bench/profile.py                       # count 10 and 1000, 10 s each, top 20
    python bench/profile.py --counts 100 --duration 20 --top 30

The emulator runs as users run it (memory store, one worker, a metered benchmark key, warmed
first); py-spy (`pip install py-spy`) samples that real server process, every thread, while wrk
(-t2 -c16) loads it, so the figures include uvicorn and the thread pool. Printed per count: the
functions with the most samples on top of the stack ("self"), then the emulator's own functions
(app/) by samples anywhere in the stack ("total"). Idle time is not sampled, so percentages are
shares of busy time. py-spy's sampling slows the server a little; the req/s shown is under it.
The collapsed stacks go to bench/results/profile-count<N>.txt (input for flamegraph.pl or
speedscope).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from harness import (
    METERED_CREDITS,
    RESULTS_DIR,
    BenchError,
    Server,
    create_tenant,
    fetch_network,
    run_wrk,
    running,
    start_emulator,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
REPO_PREFIX = str(REPO_ROOT) + "/"
SAMPLE_RATE_HZ = 250


def py_spy() -> str:
    """The py-spy executable next to this interpreter, else on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    found = str(local) if local.exists() else shutil.which("py-spy")
    if found is None:
        raise BenchError("py-spy not found: pip install py-spy")
    return found


def record(server: Server, count: int, duration_s: float, output: Path) -> float:
    """Sample `server` with py-spy while wrk loads it with `count`; wrk's req/s."""
    spy = subprocess.Popen(
        [py_spy(), "record", "--pid", str(server.proc.pid), "--rate", str(SAMPLE_RATE_HZ),
         "--gil", "--nonblocking", "--format", "raw", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(1.0)  # let py-spy attach before the load starts
    try:
        result = run_wrk(server, count, duration_s)
    finally:
        spy.send_signal(signal.SIGINT)
        _, errors = spy.communicate(timeout=30)
    if not output.exists():
        raise BenchError(f"py-spy wrote no profile: {errors.decode(errors='replace')}")
    if result.non_2xx or result.socket_errors:
        print(f"warning: {result.non_2xx} non-2xx, {result.socket_errors} socket errors")
    return result.rps


def frame_name(frame: str) -> str:
    """py-spy's `func (path:line)` as `func (path)`, the path relative to the repository."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0].removeprefix(REPO_PREFIX)
    return f"{name} ({path})"


def summarise(stacks_file: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, samples per leaf function, samples per app/ function anywhere in a stack."""
    total, self_samples, app_samples = 0, Counter[str](), Counter[str]()
    for line in stacks_file.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_samples[frame_name(frames[-1])] += count
        for name in {n for n in map(frame_name, frames) if " (app/" in n}:
            app_samples[name] += count
    return total, self_samples, app_samples


def print_top(title: str, counter: Counter[str], total: int, top: int) -> None:
    """The `top` largest entries of `counter` as percentages of `total`."""
    print(f"  {title}")
    for name, samples in counter.most_common(top):
        print(f"    {100 * samples / total:5.1f}%  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,1000", help="comma-separated counts to profile")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per count")
    parser.add_argument("--top", type=int, default=20, help="entries printed per list")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with running(start_emulator("emulator-profile")) as server:
            create_tenant(server, METERED_CREDITS)
            for count in counts:
                fetch_network(server, count)
            for count in counts:
                output = RESULTS_DIR / f"profile-count{count}.txt"
                rps = record(server, count, args.duration, output)
                total, self_samples, app_samples = summarise(output)
                print(f"\ncount={count}: {rps:.0f} req/s under py-spy, {total} busy samples")
                print_top("self (top of stack)", self_samples, total, args.top)
                print_top("total, app/ functions", app_samples, total, args.top)
    except BenchError as error:
        print(f"profile aborted: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
