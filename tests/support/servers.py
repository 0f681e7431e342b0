"""Server processes for the tests that start one (all marked slow): start, wait, stop."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkup_emulator.pytest_plugin import LiveServer
from tests.support.http import Client, Response

LISTENING = re.compile(r"^linkup-emulator listening on (http://127\.0\.0\.1:(\d+))$")
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
    return process.stdout.readline().rstrip("\n") if ready else ""


def _wait_healthy(base_url: str, process: subprocess.Popen[str], log: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=1) as client:
        for _ in range(int(START_TIMEOUT / 0.05)):
            try:
                if client.get("/_emulator/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                pytest.fail(f"the server exited during start: {log.read_text()}")
            time.sleep(0.05)
    pytest.fail(f"the server did not become healthy: {log.read_text()}")


def stop_process(process: subprocess.Popen[Any], *, group: bool = False) -> None:
    """SIGTERM, then SIGKILL after 10 s; `group`: the process leads its own session (started
    with start_new_session), so its children (workers) go too."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait()


def _stop(process: subprocess.Popen[str]) -> None:
    stop_process(process, group=True)
    if process.stdout is not None:
        process.stdout.close()


def debit_until_stopped(
    base_url: str, body: dict[str, Any], stop: threading.Event, acknowledged: list[int], slot: int
) -> None:
    """Make calls as `race_key` until `stop` is set or the server is gone, adding the credits
    of each acknowledged (200) call to acknowledged[slot]: what a crash must not lose."""
    with httpx.Client(base_url=base_url, headers={"x-api-key": "race_key"}) as client:
        while not stop.is_set():
            try:
                response = client.post("/v2/network", json=body, timeout=5)
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 200:
                acknowledged[slot] += response.json()["metadata"]["credits_consumed"]


@contextmanager
def running(
    command: Sequence[str], env: Mapping[str, str], log: Path, base_url: str | None = None
) -> Iterator[httpx.Client]:
    """Start a server, yield a client of it once healthy, and stop it whatever happens.

    Without `base_url`, the URL is read from the `listening on` line the CLI prints first.
    stderr goes to `log`, so a chatty server never stalls on a full pipe.
    """
    with log.open("w") as stderr:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=dict(env),
            text=True,
            start_new_session=True,
        )
    try:
        if base_url is None:
            line = _first_line(process)
            match = LISTENING.match(line)
            assert match, f"first line {line!r}; stderr: {log.read_text()}"
            base_url = match.group(1)
        _wait_healthy(base_url, process, log)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            yield client
    finally:
        _stop(process)


def recommendations(client: Client, key: str, account: str) -> Response:
    body = {"account_id": account, "action": "recommendations", "params": {"count": 5}}
    return client.post("/v2/network", json=body, headers={"x-api-key": key})


def wait_until_workers_answer(server: LiveServer, metrics_dir: Path, workers: int) -> None:
    """The server is healthy once one worker is; the others may still be importing the app."""
    deadline = time.monotonic() + 30
    # No keep-alive: a fresh connection each time, so whichever worker is ready may accept it.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=server.base_url, timeout=5, limits=no_reuse) as client:
        while len(list(metrics_dir.glob("counter_*.db"))) < workers:
            assert time.monotonic() < deadline, "not every worker answered within 30 s"
            client.get("/_emulator/health")
            time.sleep(0.01)
