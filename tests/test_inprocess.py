"""The in-process client the pytest plugin runs on: any thread, in an event loop, side by side."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkup_emulator.inprocess import InProcessClient
from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from linkup_emulator.store.sqlite import SqliteStore

KEY = {"x-api-key": "demo_key"}
BODY = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 3}}


@pytest.fixture
def client() -> Iterator[InProcessClient]:
    app = create_app(Settings(seed="t", log_level="warning", rate_limit=0))
    with InProcessClient(app, base_url="http://emulator") as client:
        yield client


def test_it_answers_as_the_server_does(client: InProcessClient) -> None:
    response = client.post("/v2/network", json=BODY, headers=KEY)
    assert response.status_code == 200
    assert response.json()["data"]["total_results"] == 3
    assert response.headers["x-emulator-version"]
    assert client.get("/v2/credits", headers=KEY).json()["data"]["credits"] == 999
    # under /v2 the key comes first: with a valid one, the 405 and its Allow
    assert client.put("/v2/credits", headers=KEY).headers["allow"] == "GET, HEAD"


def test_a_delayed_call_never_holds_up_one_from_another_thread(client: InProcessClient) -> None:
    done: dict[str, float] = {}

    def call(name: str, delay_ms: int) -> None:
        headers = {**KEY, "X-Emulator-Delay-Ms": str(delay_ms)}
        assert client.post("/v2/network", json=BODY, headers=headers).status_code == 200
        done[name] = time.monotonic()

    started = time.monotonic()
    slow = threading.Thread(target=call, args=("slow", 400))
    slow.start()
    time.sleep(0.05)  # the slow call now runs the loop; the others join it
    quick = [threading.Thread(target=call, args=(f"quick{i}", 0)) for i in range(3)]
    for thread in quick:
        thread.start()
    for thread in [slow, *quick]:
        thread.join(timeout=10)
    assert set(done) == {"slow", "quick0", "quick1", "quick2"}
    assert max(done[f"quick{i}"] for i in range(3)) < done["slow"]
    assert done["slow"] - started >= 0.4
    assert client.get("/v2/credits", headers=KEY).json()["data"]["credits"] == 996


def test_a_call_from_inside_an_event_loop_is_served(client: InProcessClient) -> None:
    async def an_async_test() -> int:
        await asyncio.sleep(0)
        return client.get("/v2/credits", headers=KEY).status_code  # a blocking call, as a user's

    assert asyncio.run(an_async_test()) == 200


def test_run_gives_a_coroutines_result_or_its_error(client: InProcessClient) -> None:
    store = client.app.state.emulator.store

    async def explode() -> None:
        raise LookupError("from the loop")

    assert client.run(store.tenant("demo_key")) is not None
    with pytest.raises(LookupError, match="from the loop"):
        client.run(explode())
    assert client.get("/v2/credits", headers=KEY).status_code == 200  # the loop still serves


def test_closing_runs_the_apps_shutdown(tmp_path: Path) -> None:
    """The file store holds journal rows back; shutdown (the lifespan's exit) writes them."""
    state = str(tmp_path / "state.sqlite3")
    app = create_app(Settings(seed="t", state=state, log_level="warning"))
    with InProcessClient(app, base_url="http://emulator") as client:
        assert client.get("/v2/credits", headers=KEY).status_code == 200
    reopened = SqliteStore(state)
    assert asyncio.run(reopened.journal("demo_key", None, 10))[1] == 1
    asyncio.run(reopened.close())
