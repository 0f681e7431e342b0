"""Benchmark linkup-emulator against a bare FastAPI baseline and print one table (issue 7).

Usage, from the repository root, with the venv in which linkup-emulator is installed:

    python bench/run.py            # full: 10 s wrk runs, 3 A/B rounds, 5 launches, 60 s RSS run
    python bench/run.py --quick    # smoke: 3 s wrk runs, 2 A/B rounds, 3 launches, 10 s RSS run
    python bench/run.py --duration 20 --rounds 5 --launches 7 --rss-duration 120

Needs `wrk` on PATH (`apt-get install wrk`). What it measures:

- throughput and latency: the emulator is started as users start it (the `linkup-emulator`
  console script next to this interpreter, on 127.0.0.1 and a free port) next to
  bench/baseline.py, a bare FastAPI app run by uvicorn with the same options (uvloop,
  httptools, no access log) serving the exact bytes the emulator returned for each count.
  wrk (-t2 -c16, `--latency`) loads them in alternating runs (emulator, baseline, emulator,
  baseline...), so machine drift cancels; each figure is the median over the rounds. Cases:
  count 10/100/1000 on the memory store, then count 10 on a SQLite file store (the credit-debit
  path, a metered key) with 1 and with 2 workers (the latter against a 2-worker baseline), and
  the same on a Redis store (a redis-server started here, AOF fsynced every second) with 1
  and 2 emulator processes; for Redis, the round trips per call too (the commands clients
  sent, from INFO commandstats before and after each run, over the requests wrk made).
  Every account is warmed by a request before it is measured.
- startup: spawn to first 200, polled every 5 ms with a raw HTTP client, median of the
  launches; the emulator is asked `POST /v2/network` for the demo fixture (`demo_key`,
  `acc_demo`, count 10), the baseline its own endpoint.
- memory: VmRSS of the emulator's process tree, sampled every 0.5 s while wrk loads it with
  count 10: RSS before the load, peak, and the growth from the first to the last quarter.

Targets are printed beside the figures, never asserted. The results also go to
bench/results/latest.json, server logs to bench/results/logs/ (both git-ignored).
A part that fails (a server dies or never answers, a setup call fails) is reported and the
rest still runs. Exit status 1 if any part failed or any non-2xx response or socket error was
seen; a slow figure never fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import httpx
from harness import (
    BODIES_ENV,
    DEMO_ACCOUNT,
    DEMO_KEY,
    METERED_CREDITS,
    NETWORK_PATH,
    RESULTS_DIR,
    WRK_CONNECTIONS,
    WRK_THREADS,
    BenchError,
    Server,
    WrkResult,
    baseline_command,
    create_tenant,
    emulator_command,
    fetch_network,
    free_port,
    network_body,
    raw_request,
    redis_round_trips,
    redis_server,
    run_wrk,
    running,
    spawn,
    start_baseline,
    start_emulator,
    wait_for_200,
)

MEMORY_COUNTS = (10, 100, 1000)
RSS_SAMPLE_S = 0.5
RSS_TARGET_MB = 100.0
STARTUP_TARGET_RATIO = 1.5
T = TypeVar("T")


@dataclass
class Stats:
    """Medians over the rounds of one side of an A/B comparison."""

    rps: float
    p50_ms: float
    p99_ms: float

    @classmethod
    def median_of(cls, runs: list[WrkResult]) -> Stats:
        return cls(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
        )


@dataclass
class Row:
    """One line of the table: a case measured on the emulator and on the baseline."""

    case: str
    count: int
    store: str
    workers: int
    emulator: Stats
    baseline: Stats
    rps_ratio: float
    p99_ratio: float
    target: str = ""
    target_met: bool | None = None
    round_trips: float | None = None  # Redis commands sent per call (Redis rows only)


@dataclass
class Startup:
    """Spawn-to-first-200 medians of the emulator and the baseline."""

    emulator_ms: float
    baseline_ms: float
    ratio: float
    target: str
    target_met: bool
    emulator_runs_ms: list[float]
    baseline_runs_ms: list[float]


@dataclass
class Memory:
    """RSS of the emulator's process tree under sustained load."""

    duration_s: float
    rps: float
    start_mb: float
    peak_mb: float
    growth_mb: float
    target: str
    target_met: bool
    samples_mb: list[float]


@dataclass
class Recorder:
    """Runs wrk, keeps every raw result and every error seen."""

    duration_s: float
    rounds: int
    emulator_version: str = "?"
    raw: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attempt(self, what: str, step: Callable[[], T]) -> T | None:
        """Run one part of the benchmark; a BenchError is recorded and the rest goes on."""
        try:
            return step()
        except BenchError as error:
            print(f"  {what} FAILED: {error}", file=sys.stderr, flush=True)
            self.problems.append(f"{what} failed: {error}")
            return None

    def wrk(self, case: str, server: Server, count: int, duration_s: float) -> WrkResult:
        result = run_wrk(server, count, duration_s)
        self.raw.append({"case": case, "server": server.name, **asdict(result)})
        print(
            f"  {case:<28} {server.name:<22} {result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms  non-2xx {result.non_2xx}"
            f"  socket errors {result.socket_errors}",
            file=sys.stderr,
            flush=True,
        )
        if result.non_2xx or result.socket_errors:
            self.problems.append(
                f"{case} on {server.name}: {result.non_2xx} non-2xx responses, "
                f"{result.socket_errors} socket errors in {result.requests} requests"
            )
        return result

    def ab(
        self,
        case: str,
        emulator: Server,
        baseline: Server,
        count: int,
        store: str,
        workers: int,
        trips: Callable[[], int] | None = None,
    ) -> Row:
        """Alternate emulator and baseline runs for `rounds` rounds; the medians as a row.
        `trips` counts the commands sent to the store so far (Redis), read around each run."""
        emulator_runs: list[WrkResult] = []
        baseline_runs: list[WrkResult] = []
        sent = 0
        for _ in range(self.rounds):
            before = trips() if trips else 0
            emulator_runs.append(self.wrk(case, emulator, count, self.duration_s))
            sent += (trips() - before) if trips else 0
            baseline_runs.append(self.wrk(case, baseline, count, self.duration_s))
        emu, base = Stats.median_of(emulator_runs), Stats.median_of(baseline_runs)
        requests = sum(run.requests for run in emulator_runs)
        return Row(
            case=case,
            count=count,
            store=store,
            workers=workers,
            emulator=emu,
            baseline=base,
            rps_ratio=emu.rps / base.rps,
            p99_ratio=emu.p99_ms / base.p99_ms,
            round_trips=sent / requests if trips and requests else None,
        )


def bench_group(
    rec: Recorder,
    store: str,
    state: str,
    workers: int,
    credits: int | None,
    counts: tuple[int, ...],
    bodies_dir: Path,
) -> list[Row]:
    """Start one emulator configuration and a baseline with as many workers; A/B each count.

    The emulator's own response for each count (after warming its workers) is what the
    baseline serves.
    """
    trips = partial(redis_round_trips, state) if store == "redis" else None
    with running(start_emulator(f"emulator-{store}-{workers}w", workers, state)) as emulator:
        create_tenant(emulator, credits)
        health = httpx.get(emulator.base_url + "/_emulator/health", timeout=10).json()
        rec.emulator_version = str(health.get("version", "?"))
        for count in counts:
            for _ in range(4 * workers):
                body = fetch_network(emulator, count)
            (bodies_dir / f"{count}.json").write_bytes(body)
        with running(start_baseline(f"baseline-{workers}w", bodies_dir, workers)) as baseline:
            return [
                rec.ab(
                    f"{store}, count={count}, {workers} worker{'s' * (workers > 1)}",
                    emulator,
                    baseline,
                    count,
                    store,
                    workers,
                    trips,
                )
                for count in counts
            ]


def bench_redis(rec: Recorder, tmp: Path, bodies_dir: Path) -> list[Row]:
    """count=10 on one redis-server with 1, then 2 emulator processes (workers), metered."""
    folder = tmp / "redis"
    folder.mkdir()
    rows: list[Row] = []
    with redis_server(folder) as url:
        for workers in (1, 2):
            group = partial(bench_group, rec, "redis", url, workers, METERED_CREDITS, (10,))
            rows += (
                rec.attempt(f"redis store, {workers} worker(s)", partial(group, bodies_dir)) or []
            )
            # The next group starts from a clean Redis: its tenant is created afresh.
            _flush(url)
    return rows


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def set_targets(rows: list[Row]) -> None:
    """Fill the target column of the rows the project has targets for."""
    for row in rows:
        if (row.store, row.workers, row.count) == ("memory", 1, 10):
            row.target = ">=0.5x base req/s, p99<=10ms"
            row.target_met = row.rps_ratio >= 0.5 and row.emulator.p99_ms <= 10.0
        elif (row.store, row.workers, row.count) == ("memory", 1, 1000):
            row.target = ">=300 req/s"
            row.target_met = row.emulator.rps >= 300
        elif (row.store, row.workers, row.count) == ("redis", 1, 10):
            row.target = ">=0.35x base req/s"
            row.target_met = row.rps_ratio >= 0.35


def time_to_200(
    name: str, command: list[str], port: int, request: bytes, env: dict[str, str] | None = None
) -> float:
    """Milliseconds from spawning `command` to its first 200 to `request`."""
    with running(spawn(name, command, port, env)) as server:
        return 1000 * wait_for_200(server, request)


def measure_startup(launches: int, bodies_dir: Path) -> Startup:
    """Median spawn-to-first-200 of the emulator and the baseline, launched alternately."""
    request = raw_request("POST", NETWORK_PATH, DEMO_KEY, network_body(DEMO_ACCOUNT, 10))
    emulator_ms: list[float] = []
    baseline_ms: list[float] = []
    for _ in range(launches):
        port = free_port()
        emulator_ms.append(
            time_to_200("startup-emulator", emulator_command(port, 1, ":memory:"), port, request)
        )
        port = free_port()
        baseline_ms.append(
            time_to_200(
                "startup-baseline",
                baseline_command(port, 1),
                port,
                request,
                {BODIES_ENV: str(bodies_dir)},
            )
        )
        print(
            f"  startup: emulator {emulator_ms[-1]:.0f} ms, baseline {baseline_ms[-1]:.0f} ms",
            file=sys.stderr,
            flush=True,
        )
    emu, base = statistics.median(emulator_ms), statistics.median(baseline_ms)
    return Startup(
        emulator_ms=emu,
        baseline_ms=base,
        ratio=emu / base,
        target=f"<={STARTUP_TARGET_RATIO}x baseline",
        target_met=emu / base <= STARTUP_TARGET_RATIO,
        emulator_runs_ms=emulator_ms,
        baseline_runs_ms=baseline_ms,
    )


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from the parent pids in /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_rss_mb(root: int) -> float:
    """Sum of VmRSS over `root`'s process tree, in MB (processes gone meanwhile count 0)."""
    total_kb = 0
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def measure_rss(rec: Recorder, duration_s: float) -> Memory:
    """RSS of the emulator's tree (memory store, metered key) while wrk loads it with count 10."""
    with running(start_emulator("emulator-rss")) as emulator:
        create_tenant(emulator, METERED_CREDITS)
        fetch_network(emulator, 10)
        start_mb = tree_rss_mb(emulator.proc.pid)
        samples: list[float] = []
        with ThreadPoolExecutor(1) as pool:
            load = pool.submit(rec.wrk, "rss, count=10", emulator, 10, duration_s)
            while not load.done():
                samples.append(tree_rss_mb(emulator.proc.pid))
                time.sleep(RSS_SAMPLE_S)
            result = load.result()
    quarter = max(1, len(samples) // 4)
    peak = max(samples, default=start_mb)
    growth = statistics.mean(samples[-quarter:]) - statistics.mean(samples[:quarter])
    return Memory(
        duration_s=duration_s,
        rps=result.rps,
        start_mb=start_mb,
        peak_mb=peak,
        growth_mb=growth,
        target=f"<={RSS_TARGET_MB:.0f} MB and flat",
        target_met=peak <= RSS_TARGET_MB,
        samples_mb=samples,
    )


def met(flag: bool | None) -> str:
    """A table marker for a target: met, missed, or none."""
    return "" if flag is None else "ok" if flag else "MISSED"


def workers_scaling(rows: list[Row], store: str = "file") -> float | None:
    """req/s with 2 workers over req/s with 1, both on `store` (None if one is missing)."""
    rps = {row.workers: row.emulator.rps for row in rows if row.store == store}
    return rps[2] / rps[1] if {1, 2} <= rps.keys() else None


def print_report(
    rows: list[Row],
    startup: Startup | None,
    rss: Memory | None,
    config: dict[str, object],
) -> None:
    """Print the results table and the startup and memory figures."""
    header = (
        f"{'case':<30} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} | {'base r/s':>8} "
        f"{'base p99':>8} | {'r/s x':>6} {'p99 x':>6} | target"
    )
    print()
    print(
        f"linkup-emulator {config['emulator_version']} vs bare FastAPI baseline; "
        f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}, {config['duration_s']:g} s x "
        f"{config['rounds']} alternating rounds, medians"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        target = f"{row.target} {met(row.target_met)}".strip()
        print(
            f"{row.case:<30} {row.emulator.rps:>8.0f} {row.emulator.p50_ms:>7.2f} "
            f"{row.emulator.p99_ms:>7.2f} | {row.baseline.rps:>8.0f} {row.baseline.p99_ms:>8.2f} "
            f"| {row.rps_ratio:>6.2f} {row.p99_ratio:>6.2f} | {target}".rstrip()
        )
    print("-" * len(header))
    scaling = config["workers_scaling"]
    print(
        "file store, 2 workers vs 1: "
        + (f"{scaling:.2f}x req/s" if isinstance(scaling, float) else "n/a (a case failed)")
    )
    redis = config["redis_scaling"]
    print(
        "redis store, 2 processes vs 1: "
        + (f"{redis:.2f}x req/s" if isinstance(redis, float) else "n/a (a case failed)")
    )
    for row in rows:
        if row.round_trips is not None:
            print(f"{row.case}: {row.round_trips:.2f} Redis round trips per call")
    print(
        f"startup to first 200 (median of {config['launches']}): emulator "
        f"{startup.emulator_ms:.0f} ms, baseline {startup.baseline_ms:.0f} ms, "
        f"ratio {startup.ratio:.2f}x | target {startup.target} {met(startup.target_met)}"
        if startup
        else "startup to first 200: FAILED (see the errors below)"
    )
    print(
        f"RSS under {rss.duration_s:g} s of load (count=10, {rss.rps:.0f} req/s): start "
        f"{rss.start_mb:.1f} MB, peak {rss.peak_mb:.1f} MB, growth first->last quarter "
        f"{rss.growth_mb:+.1f} MB | target {rss.target} {met(rss.target_met)}"
        if rss
        else "RSS under load: FAILED (see the errors below)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (10; quick 3)")
    parser.add_argument("--rounds", type=int, help="A/B rounds per case, >= 2 (3; quick 2)")
    parser.add_argument("--launches", type=int, help="startup launches per side (5; quick 3)")
    parser.add_argument("--rss-duration", type=float, help="seconds of RSS load (60; quick 10)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.launches = args.launches or (3 if args.quick else 5)
    args.rss_duration = args.rss_duration or (10.0 if args.quick else 60.0)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rec = Recorder(duration_s=args.duration, rounds=args.rounds)
    config: dict[str, object] = {
        "duration_s": args.duration,
        "rounds": args.rounds,
        "launches": args.launches,
        "rss_duration_s": args.rss_duration,
        "wrk": f"-t{WRK_THREADS} -c{WRK_CONNECTIONS} --latency",
        "python": platform.python_version(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="linkup-bench-") as tmp:
        bodies_dir = Path(tmp, "bodies")
        bodies_dir.mkdir()
        groups = [("memory", ":memory:", 1, None, MEMORY_COUNTS)] + [
            ("file", str(Path(tmp, f"state-{w}w.sqlite3")), w, METERED_CREDITS, (10,))
            for w in (1, 2)
        ]
        for store, state, workers, credits, counts in groups:
            group = partial(bench_group, rec, store, state, workers, credits, counts, bodies_dir)
            rows += rec.attempt(f"{store} store, {workers} worker(s)", group) or []
        rows += rec.attempt("redis store", partial(bench_redis, rec, Path(tmp), bodies_dir)) or []
        set_targets(rows)
        startup = rec.attempt("startup", partial(measure_startup, args.launches, bodies_dir))
        rss = rec.attempt("RSS", partial(measure_rss, rec, args.rss_duration))
    config["workers_scaling"] = workers_scaling(rows)
    config["redis_scaling"] = workers_scaling(rows, "redis")
    config["emulator_version"] = rec.emulator_version
    print_report(rows, startup, rss, config)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    latest = RESULTS_DIR / "latest.json"
    latest.write_text(
        json.dumps(
            {
                "config": config,
                "rows": [asdict(row) for row in rows],
                "startup": asdict(startup) if startup else None,
                "rss": asdict(rss) if rss else None,
                "runs": rec.raw,
                "problems": rec.problems,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten {os.path.relpath(latest)}")
    if rec.problems:
        print("\nerrors (exit status 1):\n- " + "\n- ".join(rec.problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
