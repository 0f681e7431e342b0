"""The ledger under real concurrency over HTTP: one server, two worker processes on one file,
and kill -9. The store-level races are in test_contract.py, on every backend."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from linkup_emulator.pytest_plugin import LiveServer
from tests.support.servers import debit_until_stopped, wait_until_workers_answer

CALLS, THREADS, COST, START = 400, 16, 2, 500
TENANT: dict[str, Any] = {
    "api_key": "race_key",
    "credits": START,
    "rate_limit": 0,
    "accounts": [{"account_id": "acc_race", "country": "US", "pool_size": 1000}],
}


def _hammer_http(base_url: str, *, keep_alive: bool = True) -> Counter[int]:
    local = threading.local()
    clients: list[httpx.Client] = []
    body = {"account_id": "acc_race", "action": "recommendations", "params": {"count": 20}}
    # Without keep-alive every call is a new connection that any worker may accept.
    limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)

    def one(_: int) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=base_url, headers={"x-api-key": "race_key"}, timeout=30, limits=limits
            )
            clients.append(local.client)
        return int(local.client.post("/v2/network", json=body).status_code)

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            return Counter(pool.map(one, range(CALLS)))
    finally:
        for client in clients:
            client.close()


def _requests_counted(metrics: str, status: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("emulator_requests_total{")
        and 'route="/v2/network"' in line
        and f'status="{status}"' in line
    )


def _race_over_http(server: LiveServer, *, keep_alive: bool = True) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as control:
        assert control.post("/_emulator/keys", json=TENANT).status_code == 201
        statuses = _hammer_http(server.base_url, keep_alive=keep_alive)
        assert statuses == {200: START // COST, 402: CALLS - START // COST}
        report = control.get("/_emulator/keys/race_key").json()
        metrics = control.get("/metrics").text
    # /metrics adds up every worker's counts (prometheus-client's multiprocess mode).
    assert _requests_counted(metrics, "200") == START // COST
    assert _requests_counted(metrics, "402") == CALLS - START // COST
    assert report["credits"] == {"balance": 0, "consumed": START}
    assert report["accounts"][0]["calls"] == START // COST
    assert report["accounts"][0]["credits_consumed"] == START


def _network_calls_by_worker(metrics_dir: Path) -> dict[str, float]:
    """/v2/network requests each worker process answered, from its own counter file."""
    counted: dict[str, float] = {}
    for path in sorted(metrics_dir.glob("counter_*.db")):
        pid = path.stem.removeprefix("counter_")
        counted[pid] = sum(
            sample.value
            for metric in MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
            for sample in metric.samples
            if sample.name == "emulator_requests_total"
            and sample.labels.get("route") == "/v2/network"
        )
    return counted


@pytest.mark.slow
def test_concurrent_http_calls_one_worker() -> None:
    server = LiveServer(["--log-level", "warning"])
    try:
        _race_over_http(server)
    finally:
        server.stop()


@pytest.mark.slow
def test_concurrent_http_calls_two_workers_sharing_a_file(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = LiveServer(
        ["--workers", "2", "--state", str(state), "--log-level", "warning"],
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    try:
        wait_until_workers_answer(server, metrics_dir, workers=2)
        _race_over_http(server, keep_alive=False)
    finally:
        server.stop()
    # Both worker processes took part in the race: the debits really were made by two processes.
    by_worker = _network_calls_by_worker(metrics_dir)
    assert len(by_worker) == 2
    assert all(calls > 0 for calls in by_worker.values()), by_worker
    assert sum(by_worker.values()) == CALLS


@pytest.mark.slow
def test_kill_9_mid_load_loses_no_acknowledged_debit(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    start, threads = 100_000, 8
    tenant = {**TENANT, "credits": start}
    server = LiveServer(["--workers", "2", "--state", state, "--log-level", "warning"])
    acknowledged = [0] * threads
    stop = threading.Event()
    body = {"account_id": "acc_race", "action": "recommendations", "params": {"count": 10}}

    try:
        assert httpx.post(f"{server.base_url}/_emulator/keys", json=tenant).status_code == 201
        workers = [
            threading.Thread(
                target=debit_until_stopped, args=(server.base_url, body, stop, acknowledged, i)
            )
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while sum(acknowledged) < 300:
            # Never wait forever: load threads stop on a transport error.
            assert any(w.is_alive() for w in workers), "every load thread stopped early"
            assert time.monotonic() < deadline, "300 credits not acknowledged within 60 s"
            stop.wait(0.01)
        server.kill()
        stop.set()
        for worker in workers:
            worker.join()
    finally:
        stop.set()
        server.stop()

    restarted = LiveServer(["--state", state, "--log-level", "warning"])
    try:
        with httpx.Client(base_url=restarted.base_url, headers={"x-api-key": "race_key"}) as client:
            balance = client.get("/v2/credits").json()["data"]["credits"]
            report = client.get("/_emulator/keys/race_key").json()
    finally:
        restarted.stop()
    seen = sum(acknowledged)
    debited = start - balance
    # Every acknowledged debit survived; at most the calls in flight at the kill (one per
    # thread) were committed without their answer reaching the client.
    assert seen <= debited <= seen + threads
    assert report["credits"]["consumed"] == debited  # debit and usage commit together
    assert report["accounts"][0]["credits_consumed"] == debited
