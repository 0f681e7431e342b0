"""One emulator served by several real processes on one real Redis: the ledger, the rate limit,
fault rules, the clock and graph changes are shared; a killed replica loses no acknowledged
debit; a restarted Redis (AOF) keeps balances; a Redis that is down is a 500 that debits
nothing, and the replica recovers by itself; two prefixes on one Redis never meet."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkup_emulator.pytest_plugin import LiveServer
from tests.support.redis_server import RedisServer, session_server
from tests.support.servers import debit_until_stopped

CALLS, THREADS, COST, START = 400, 16, 2, 500
BODY = {"account_id": "acc_race", "action": "recommendations", "params": {"count": 20}}


def _tenant(credits: int | None = START, rate_limit: int = 0) -> dict[str, Any]:
    return {
        "api_key": "race_key",
        "credits": credits,
        "rate_limit": rate_limit,
        "accounts": [{"account_id": "acc_race", "country": "US", "pool_size": 1000}],
    }


def _replicas(count: int, url: str, prefix: str, *extra: str) -> list[LiveServer]:
    servers: list[LiveServer] = []
    try:
        for _ in range(count):
            args = ["--state", url, "--log-level", "warning", *extra]
            servers.append(LiveServer(args, env={"EMULATOR_REDIS_PREFIX": prefix}))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture
def replicas(request: pytest.FixtureRequest) -> Iterator[list[LiveServer]]:
    """`request.param` emulator processes on the session's Redis, under a prefix of their own."""
    server = session_server()
    started = _replicas(request.param, server.url, server.prefix())
    yield started
    for replica in started:
        replica.stop()


def _spread(servers: list[LiveServer], calls: int, body: dict[str, Any]) -> list[httpx.Response]:
    """`calls` v2 calls from 16 threads, call i to replica i mod n."""
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def one(i: int) -> httpx.Response:
        if not hasattr(local, "clients"):
            local.clients = [
                httpx.Client(base_url=s.base_url, headers={"x-api-key": "race_key"}, timeout=30)
                for s in servers
            ]
            with lock:
                clients.extend(local.clients)
        response: httpx.Response = local.clients[i % len(servers)].post("/v2/network", json=body)
        return response

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(one, range(calls)))
    finally:
        for client in clients:
            client.close()


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [2, 3], indirect=True, ids=["2-replicas", "3-replicas"])
def test_concurrent_debits_over_replicas_neither_overdraw_nor_lose_one(
    replicas: list[LiveServer],
) -> None:
    assert httpx.post(f"{replicas[0].base_url}/_emulator/keys", json=_tenant()).status_code == 201
    responses = _spread(replicas, CALLS, BODY)
    assert Counter(r.status_code for r in responses) == {200: START // COST, 402: CALLS - 250}
    for refused in (r for r in responses if r.status_code == 402):
        assert refused.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
    for replica in replicas:  # every replica sees the same ledger
        report = httpx.get(f"{replica.base_url}/_emulator/keys/race_key").json()
        assert report["credits"] == {"balance": 0, "consumed": START}
        assert report["accounts"][0]["calls"] == START // COST
        health = httpx.get(f"{replica.base_url}/_emulator/health").json()
        assert health["store"] == "redis"


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [3], indirect=True, ids=["3-replicas"])
def test_the_rate_limit_faults_clock_and_journal_are_shared(replicas: list[LiveServer]) -> None:
    first, second, third = (r.base_url for r in replicas)
    assert httpx.post(f"{first}/_emulator/keys", json=_tenant(None, 10)).status_code == 201
    # The clock: frozen on one replica, read on the others, moved by a third.
    frozen = {"set": "2031-01-01T00:00:00Z"}
    assert httpx.post(f"{first}/_emulator/clock", json={"freeze": True}).status_code == 200
    assert httpx.post(f"{first}/_emulator/clock", json=frozen).status_code == 200
    assert httpx.get(f"{second}/_emulator/clock").json()["now"] == "2031-01-01T00:00:00.000Z"
    # Fault rules: five injected errors in all, whichever replica answers.
    rule = {"match": {"api_key": "race_key"}, "error": "INTERNAL_ERROR", "times": 5}
    assert httpx.post(f"{third}/_emulator/faults", json=rule).status_code == 201
    responses = _spread(replicas, 30, BODY)
    statuses = Counter(r.status_code for r in responses)
    # Injected errors don't count toward the rate: 5 injected, 10 allowed, the rest 429.
    assert statuses == {500: 5, 200: 10, 429: 15}
    stamps = {r.json()["metadata"]["timestamp"] for r in responses}
    assert stamps == {"2031-01-01T00:00:00Z"}
    assert httpx.get(f"{second}/_emulator/faults").json()["items"] == []  # spent, on every replica
    # The window reopens for every replica once the shared clock moves on.
    assert httpx.post(f"{second}/_emulator/clock", json={"advance_s": 61}).status_code == 200
    after = _spread(replicas[2:], 1, BODY)
    assert after[0].status_code == 200
    assert after[0].json()["metadata"]["timestamp"] == "2031-01-01T00:01:01Z"
    # The journal holds every replica's rows.
    journal = httpx.get(f"{first}/_emulator/requests", params={"api_key": "race_key"}).json()
    assert journal["total"] == 31


CHILD = """
import asyncio, json, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from linkup_emulator.store import Change, Debit
from linkup_emulator.store.redis import RedisStore

url, prefix, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
store = RedisStore(url, prefix)
debit = Debit("race_key", "acc_race", "invite", 1, (Change("jane-doe", 0, b'{"state":"invited"}'),))
barrier = threading.Barrier(4)

def one(_):
    async def call():
        await store.lookup("race_key", "acc_race")  # connected before the start
        barrier.wait()
        time.sleep(max(0.0, start_at - time.time()))
        return await store.apply(debit)
    charge = asyncio.run(call())
    return "ok" if charge.ok else "conflict" if charge.conflict else "refused"

with ThreadPoolExecutor(4) as pool:
    print(json.dumps(list(pool.map(one, range(4)))))
"""


@pytest.mark.slow
def test_simultaneous_changes_of_one_member_from_four_processes_succeed_once() -> None:
    server = session_server()
    prefix = server.prefix()
    replica = _replicas(1, server.url, prefix)[0]
    try:
        tenant = _tenant(100)
        assert httpx.post(f"{replica.base_url}/_emulator/keys", json=tenant).status_code == 201
        start_at = f"{time.time() + 3:.6f}"  # every child is connected and waiting by then
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, server.url, prefix, start_at],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        outcomes: Counter[str] = Counter()
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0
            outcomes.update(json.loads(out))
        assert outcomes == {"ok": 1, "conflict": 15}
        report = httpx.get(f"{replica.base_url}/_emulator/keys/race_key").json()
        assert report["credits"] == {"balance": 99, "consumed": 1}
    finally:
        replica.stop()


@pytest.mark.slow
def test_kill_9_of_one_replica_mid_load_loses_no_acknowledged_debit() -> None:
    server = session_server()
    doomed, survivor = _replicas(2, server.url, server.prefix())
    start, threads = 100_000, 8
    acknowledged = [0] * threads
    stop = threading.Event()
    body = {**BODY, "params": {"count": 10}}

    try:
        tenant = _tenant(start)
        assert httpx.post(f"{survivor.base_url}/_emulator/keys", json=tenant).status_code == 201
        # Even slots load the replica that will be killed, odd ones the survivor.
        workers = [
            threading.Thread(
                target=debit_until_stopped,
                args=((doomed if i % 2 == 0 else survivor).base_url, body, stop, acknowledged, i),
            )
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while sum(acknowledged[0::2]) < 150 or sum(acknowledged[1::2]) < 150:
            assert time.monotonic() < deadline, "300 credits not acknowledged within 60 s"
            stop.wait(0.01)
        doomed.kill()
        time.sleep(0.3)  # the survivor keeps serving
        stop.set()
        for worker in workers:
            worker.join()
        with httpx.Client(base_url=survivor.base_url, headers={"x-api-key": "race_key"}) as client:
            balance = client.get("/v2/credits").json()["data"]["credits"]
            report = client.get("/_emulator/keys/race_key").json()
    finally:
        stop.set()
        doomed.stop()
        survivor.stop()
    seen = sum(acknowledged)
    debited = start - balance
    # Every acknowledged debit is there, none twice: at most the calls in flight on the killed
    # replica (one per thread of it) were debited without their answer arriving.
    assert seen <= debited <= seen + threads // 2
    assert report["credits"]["consumed"] == debited
    assert report["accounts"][0]["credits_consumed"] == debited


@pytest.mark.slow
def test_redis_down_is_a_500_that_debits_nothing_and_a_restart_keeps_balances(
    tmp_path: Path,
) -> None:
    (tmp_path / "redis").mkdir()
    redis_server = RedisServer(tmp_path / "redis", aof=True)
    replica = _replicas(1, redis_server.url, "linkup:")[0]
    try:
        with httpx.Client(
            base_url=replica.base_url, headers={"x-api-key": "race_key"}, timeout=10
        ) as client:
            assert client.post("/_emulator/keys", json=_tenant(100)).status_code == 201
            for _ in range(3):
                assert client.post("/v2/network", json=BODY).status_code == 200
            assert client.get("/v2/credits").json()["data"]["credits"] == 100 - 3 * COST
            redis_server.kill()  # a crash: only what the AOF holds comes back
            down = client.post("/v2/network", json=BODY)
            assert down.status_code == 500
            failed = down.json()
            assert failed["success"] is False
            assert failed["error"]["code"] == "INTERNAL_ERROR"
            assert failed["metadata"]["credits_consumed"] == 0
            assert client.get("/v2/credits").status_code == 500
            redis_server.start()
            # The same replica, never restarted, is served again at once.
            assert client.get("/v2/credits").json()["data"]["credits"] == 100 - 3 * COST
            assert client.post("/v2/network", json=BODY).status_code == 200
            report = client.get("/_emulator/keys/race_key").json()
            assert report["credits"] == {"balance": 100 - 4 * COST, "consumed": 4 * COST}
    finally:
        replica.stop()
        redis_server.close()


@pytest.mark.slow
def test_two_prefixes_on_one_redis_never_see_each_other() -> None:
    server = session_server()
    base = server.prefix()
    ours, theirs = _replicas(1, server.url, base)[0], _replicas(1, server.url, base + "x:")[0]
    try:
        key = {"x-api-key": "demo_key"}
        body = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 100}}
        assert httpx.post(f"{ours.base_url}/v2/network", json=body, headers=key).status_code == 200
        assert httpx.post(f"{ours.base_url}/_emulator/keys", json=_tenant()).status_code == 201
        credits = [httpx.get(f"{s.base_url}/v2/credits", headers=key) for s in (ours, theirs)]
        assert [c.json()["data"]["credits"] for c in credits] == [990, 1000]
        race = {"x-api-key": "race_key"}
        assert httpx.get(f"{theirs.base_url}/v2/credits", headers=race).status_code == 403
        # A full reset of one prefix leaves the other (whose keys start with the first's).
        assert httpx.post(f"{ours.base_url}/_emulator/reset").status_code == 200
        assert (
            httpx.post(f"{theirs.base_url}/v2/network", json=body, headers=key).status_code == 200
        )
        assert httpx.post(f"{ours.base_url}/_emulator/reset").status_code == 200
        credits = [httpx.get(f"{s.base_url}/v2/credits", headers=key) for s in (ours, theirs)]
        assert [c.json()["data"]["credits"] for c in credits] == [1000, 990]
    finally:
        ours.stop()
        theirs.stop()


@pytest.mark.slow
def test_two_workers_on_redis_share_one_ledger() -> None:
    server = session_server()
    prefix = server.prefix()
    replica = LiveServer(
        ["--workers", "2", "--state", server.url, "--log-level", "warning"],
        env={"EMULATOR_REDIS_PREFIX": prefix},
    )
    try:
        assert httpx.post(f"{replica.base_url}/_emulator/keys", json=_tenant()).status_code == 201
        responses = _spread([replica], CALLS, BODY)
        assert Counter(r.status_code for r in responses) == {200: 250, 402: 150}
        report = httpx.get(f"{replica.base_url}/_emulator/keys/race_key").json()
        assert report["credits"] == {"balance": 0, "consumed": START}
    finally:
        replica.stop()
