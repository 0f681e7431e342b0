"""Benchmark the network actions (issue 12) against the bare FastAPI baseline, and the memory of
graphs with many changes. Prints one table; targets beside the figures, never asserted.

    python bench/network.py            # 10 s wrk runs, 3 A/B rounds
    python bench/network.py --quick    # 3 s runs, 2 rounds

Cases, each an A/B against bench/baseline.py serving the bytes the emulator answered (memory
store, one worker, the same wrk -t2 -c16 as bench/run.py):

- invite, always a new member: wrk's Lua numbers every request, so each names a stranger
  never named before (the graph grows by one change a call: the cost of a growing graph is in);
- check_invitation of one member; list_connections count=100;
- recommendations count=10 on an account with 1000 changes in its graph (300 PYMK members
  invited, so 300 positions are skipped, and 700 strangers).

Then RSS: one process loads 10 accounts with 10 000 changes each (written to its store in
batches, the records `invite` writes) and reads every graph once; VmRSS before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import (
    BENCH_ACCOUNT,
    BENCH_KEY,
    NETWORK_PATH,
    WRK_CONNECTIONS,
    WRK_THREADS,
    BenchError,
    Server,
    WrkResult,
    parse_wrk,
    running,
    start_baseline,
    start_emulator,
)

CROWDED = "bench_crowded"  # the account with 1000 changes
JANE = "https://www.linkedin.com/in/jane-doe-42"


@dataclass
class Case:
    name: str
    action: str
    body: bytes  # the request body (the invite case's Lua makes its own per request)
    target: float  # rps ratio to reach
    lua_body: str | None = None  # a Lua expression making each request's body


def body(account: str, action: str, params: str) -> bytes:
    return b'{"account_id":"%s","action":"%s","params":%s}' % (
        account.encode(),
        action.encode(),
        params.encode(),
    )


CASES = [
    Case(
        "invite (a new member each call)",
        "invite",
        body(BENCH_ACCOUNT, "invite", '{"identifier":"bench-first"}'),
        0.4,
        lua_body=(
            '\'{"account_id":"' + BENCH_ACCOUNT + '","action":"invite","params":'
            "{\"identifier\":\"bench-' .. run .. '-' .. id .. '-' .. n .. '\"}}'"
        ),
    ),
    Case(
        "check_invitation",
        "check_invitation",
        body(BENCH_ACCOUNT, "check_invitation", f'{{"profile_url":"{JANE}"}}'),
        0.4,
    ),
    Case(
        "list_connections count=100",
        "list_connections",
        body(BENCH_ACCOUNT, "list_connections", '{"count":100}'),
        0.4,
    ),
    Case(
        "recommendations count=10, 1000 changes",
        "recommendations",
        body(CROWDED, "recommendations", '{"count":10}'),
        0.5,
    ),
]


RUNS = iter(range(1, 1_000_000))


def lua(case: Case) -> str:
    head = (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["x-api-key"] = "{BENCH_KEY}"\n'
    )
    if case.lua_body is None:
        return head + f"wrk.body = '{case.body.decode()}'\n"
    # Each thread numbers its requests; thread ids keep two threads' members apart.
    return head + (
        f"local run = {next(RUNS)}\n"  # each wrk run names members no run named before
        "local counter = 0\n"
        "function setup(thread) counter = counter + 1; thread:set('id', counter) end\n"
        "local n = 0\n"
        "function request()\n"
        "  n = n + 1\n"
        f"  return wrk.format(nil, nil, nil, {case.lua_body})\n"
        "end\n"
    )


def wrk(server: Server, case: Case, duration_s: float) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua(case))
    try:
        command = [
            "wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{duration_s:g}s",
            "--timeout", "5s", "--latency", "-s", script.name, server.base_url + NETWORK_PATH,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        os.unlink(script.name)
    server.check_alive()
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    result = parse_wrk(done.stdout)
    print(
        f"  {case.name:<40} {server.name:<10} {result.rps:9.0f} req/s  p99 {result.p99_ms:7.2f} ms"
        f"  non-2xx {result.non_2xx}",
        file=sys.stderr,
        flush=True,
    )
    if result.non_2xx or result.socket_errors:
        raise BenchError(f"{case.name}: {result.non_2xx} non-2xx, {result.socket_errors} errors")
    return result


def prepare(emulator: Server, bodies: Path) -> None:
    """The bench tenant (unmetered, no weekly limit), the crowded account's 1000 changes, and
    each case's answer for the baseline."""
    accounts = [
        {"account_id": a, "country": "US", "pool_size": 1000, "weekly_invitation_limit": None}
        for a in (BENCH_ACCOUNT, CROWDED)
    ]
    tenant = {"api_key": BENCH_KEY, "credits": None, "rate_limit": 0, "accounts": accounts}
    with httpx.Client(base_url=emulator.base_url, headers={"x-api-key": BENCH_KEY}) as client:
        if client.post("/_emulator/keys", json=tenant).status_code != 201:
            raise BenchError("creating the bench tenant failed")
        pymk = client.post(NETWORK_PATH, content=body(CROWDED, "recommendations", '{"count":300}'))
        people = [p["profile_url"] for p in pymk.json()["data"]["recommendations"]]
        members = [f'"profile_url":"{url}"' for url in people]
        members += [f'"identifier":"crowd-member-{i}"' for i in range(700)]
        for member in members:
            invited = client.post(NETWORK_PATH, content=body(CROWDED, "invite", f"{{{member}}}"))
            if invited.status_code != 200:
                raise BenchError(f"crowding the graph: {invited.text[:300]}")
        for case in CASES:
            answer = client.post(NETWORK_PATH, content=case.body)
            if answer.status_code != 200:
                raise BenchError(f"{case.name}: {answer.text[:300]}")
            (bodies / f"{case.action}.json").write_bytes(answer.content)
        (bodies / "10.json").write_bytes(  # start_baseline's probe asks for count 10
            client.post(NETWORK_PATH, content=CASES[3].body).content
        )


def rss_of_graphs(accounts: int = 10, changes: int = 10_000) -> tuple[float, float]:
    """VmRSS (MB) of a fresh process before and after its emulator holds `accounts` graphs of
    `changes` stored changes each, read in full (list_sent walks every change)."""
    script = f"""
import time
from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from linkup_emulator.models import TenantSpec
from linkup_emulator.network import Record
from linkup_emulator.store import Change, Debit
from linkup_emulator.inprocess import InProcessClient

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

app = create_app(Settings(log_level="warning", rate_limit=0))
emulator = app.state.emulator
with InProcessClient(app, base_url="http://emulator") as client:
    client.get("/v2/credits", headers={{"x-api-key": "demo_key"}})
    before = rss()
    accounts = [
        {{"account_id": f"rss_{{i}}", "weekly_invitation_limit": None}} for i in range({accounts})
    ]
    spec = TenantSpec.model_validate(
        {{"api_key": "rss_key", "credits": None, "accounts": accounts}}
    )
    now = time.time()
    client.run(emulator.store.create_tenant(spec, born=now))
    for i in range({accounts}):
        account = f"rss_{{i}}"
        for start in range(0, {changes}, 1000):
            changes = tuple(
                Change(f"rss-member-{{k}}", 0, Record("sent", now, 1, now, None).dump())
                for k in range(start, start + 1000)
            )
            client.run(emulator.store.apply(Debit("rss_key", account, "invite", 0, changes)))
        body = {{"account_id": account, "action": "list_sent", "params": {{"count": 10}}}}
        answer = client.post("/v2/network", json=body, headers={{"x-api-key": "rss_key"}})
        assert answer.json()["data"]["total_available_results"] >= {changes}, answer.text
    print(before, rss())
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"the RSS run failed: {done.stderr[-2000:]}")
    before, after = (float(x) for x in done.stdout.split())
    return before, after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    duration, rounds = (3.0, 2) if args.quick else (10.0, 3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="linkup-bench-network-") as tmp, ExitStack() as stack:
        bodies = Path(tmp)
        emulator = stack.enter_context(running(start_emulator("emulator")))
        prepare(emulator, bodies)
        baseline = stack.enter_context(running(start_baseline("baseline", bodies)))
        for case in CASES:
            ours, theirs = [], []
            for _ in range(rounds):
                ours.append(wrk(emulator, case, duration).rps)
                theirs.append(wrk(baseline, case, duration).rps)
            emu, base = statistics.median(ours), statistics.median(theirs)
            rows.append((case, emu, base, emu / base))
    before, after = rss_of_graphs()
    print("\n| case | emulator req/s | baseline req/s | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for case, emu, base, ratio in rows:
        met = "met" if ratio >= case.target else "NOT met"
        print(
            f"| {case.name} | {emu:.0f} | {base:.0f} | {ratio:.2f}x | >= {case.target}x ({met}) |"
        )
    met = "met" if after <= 150 else "NOT met"
    print(
        f"| RSS, 10 accounts x 10 000 changes, read | {before:.0f} MB before | |"
        f" {after:.0f} MB after | <= 150 MB ({met}) |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
