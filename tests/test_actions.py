"""How the emulator applies an action's plan: its changes and its debit together, or nothing.

A test-only action (`claim`: take a member of the account's graph, once) stands in for the
network actions that will change graphs: it reads the graph, refuses a member already taken,
and plans one change. Registered for these tests only.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from linkup_emulator import actions
from linkup_emulator.actions import Action, Context, Plan
from linkup_emulator.clock import EmulatedClock
from linkup_emulator.emulator import MAX_REPLANS, Emulator, Policy, Trace
from linkup_emulator.errors import ApiError, InvalidParams
from linkup_emulator.generator import PeopleGenerator
from linkup_emulator.main import create_app, run_sync
from linkup_emulator.models import TenantSpec
from linkup_emulator.settings import Settings
from linkup_emulator.store import Change, GraphEntry
from linkup_emulator.store.sqlite import SqliteStore
from tests.support.http import Client, Response, assert_error, balance, network


def _claim(context: Context, params: dict[str, object]) -> Plan:
    member = params.get("member")
    if not isinstance(member, str):
        raise InvalidParams("params.member must be a string")
    assert context.graph is not None
    if member in context.graph.entries:
        raise InvalidParams(f"{member} is taken already")
    data = orjson.dumps({"claimed": member})
    return Plan(cost=2, data=data, changes=(Change(member, 0, b'{"claimed":true}'),))


CLAIM = Action("claim", params=("member",), plan=_claim, reads_graph=True)
RACER = {"api_key": "race_key", "credits": 100, "accounts": [{"account_id": "acc_race"}]}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setitem(actions.ACTIONS, "claim", CLAIM)
    with TestClient(create_app(Settings(seed="t", rate_limit=0, log_level="warning"))) as client:
        yield client


def claim(
    client: Client, member: str, key: str = "demo_key", account: str = "acc_demo"
) -> Response:
    body = {"account_id": account, "action": "claim", "params": {"member": member}}
    return network(client, body, key=key)


def graph(client: TestClient, account: str = "acc_demo") -> list[GraphEntry]:
    entries: list[GraphEntry] = run_sync(client.app.state.emulator.store.graph(account))  # type: ignore[attr-defined]
    return entries


def test_a_plan_is_applied_with_its_debit(client: TestClient) -> None:
    response = claim(client, "jane-doe")
    assert response.status_code == 200
    assert response.json()["data"] == {"claimed": "jane-doe"}
    assert response.json()["metadata"]["credits_consumed"] == 2
    assert balance(client) == 998
    assert [(e.member, e.version) for e in graph(client)] == [("jane-doe", 1)]


def test_a_refusal_read_from_the_graph_changes_nothing(client: TestClient) -> None:
    assert claim(client, "jane-doe").status_code == 200
    body = assert_error(claim(client, "jane-doe"), 400, "INVALID_PARAMS", "claim")
    assert body["error"]["message"] == "jane-doe is taken already"
    assert balance(client) == 998
    assert len(graph(client)) == 1


def test_an_unaffordable_plan_changes_nothing(client: TestClient) -> None:
    assert client.patch("/_emulator/keys/demo_key", json={"credits": 1}).status_code == 200
    assert_error(claim(client, "jane-doe"), 402, "INSUFFICIENT_CREDITS", "claim")
    assert graph(client) == []
    assert balance(client) == 1


def test_unknown_params_of_an_action_are_named(client: TestClient) -> None:
    body = {"account_id": "acc_demo", "action": "claim", "params": {"count": 1}}
    message = assert_error(network(client, body), 400, "INVALID_PARAMS", "claim")["error"]
    assert message["message"] == "params.count is not a parameter of claim; it takes: member"


def test_racing_calls_on_one_member_succeed_once(client: TestClient) -> None:
    """Sixteen threads claim one member over HTTP: one call applies; the others are refused
    by the action itself and cost nothing."""
    with ThreadPoolExecutor(16) as pool:
        statuses = sorted(pool.map(lambda _: claim(client, "jane-doe").status_code, range(16)))
    assert statuses == [200] + [400] * 15
    assert balance(client) == 998
    assert [(e.member, e.version) for e in graph(client)] == [("jane-doe", 1)]


def test_a_plan_made_from_a_graph_that_changed_is_made_again(tmp_path: Path) -> None:
    """Sixteen emulators (each its own thread, loop and connection) on one file plan a claim of
    the same member from the same empty graph — a barrier holds every first plan until all
    are made. One applies; the store refuses the others' stale changes, and each re-plans
    from the graph as it now is, where the action itself refuses: one debit, no 500."""
    path = str(tmp_path / "state.sqlite3")
    seeded = SqliteStore(path)
    run_sync(seeded.create_tenant(TenantSpec.model_validate(RACER)))
    barrier = threading.Barrier(16, timeout=10)
    first = threading.local()
    plans = Counter[str]()

    def held(context: Context, params: dict[str, object]) -> Plan:
        plans[threading.current_thread().name] += 1
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()
        return _claim(context, params)

    racing = Action("claim", params=("member",), plan=held, reads_graph=True)
    raw = orjson.dumps({"account_id": "acc_race", "action": "claim", "params": {"member": "m"}})

    def race(_: int) -> str:
        store = SqliteStore(path)
        emulator = Emulator(Policy("t", 0, 100), store, PeopleGenerator("t"), EmulatedClock())
        try:
            asyncio.run(emulator.network(Trace("network"), {"x-api-key": "race_key"}, raw))
            return "ok"
        except ApiError as error:
            return error.code
        finally:
            asyncio.run(store.close())

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(actions.ACTIONS, "claim", racing)
        with ThreadPoolExecutor(16) as pool:
            outcomes = Counter(pool.map(race, range(16)))
    assert outcomes == {"ok": 1, "INVALID_PARAMS": 15}
    assert sorted(plans.values()) == [1] + [2] * 15  # the winner planned once, the rest twice
    tenant = run_sync(seeded.tenant("race_key"))
    assert tenant is not None
    assert tenant.balance == 98
    assert [(e.member, e.version) for e in run_sync(seeded.graph("acc_race"))] == [("m", 1)]
    run_sync(seeded.close())


def test_a_plan_that_never_applies_fails_without_a_debit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan whose change is always stale (a storm of calls on one member, at worst) is made
    MAX_REPLANS times, then the call fails in the envelope, having changed nothing."""
    plans = []

    def stale(context: Context, params: dict[str, object]) -> Plan:
        plans.append(1)
        return Plan(cost=1, data=b"{}", changes=(Change("m", 7, b"x"),))

    monkeypatch.setitem(actions.ACTIONS, "stale", Action("stale", (), stale, reads_graph=True))
    with TestClient(create_app(Settings(seed="t", rate_limit=0, log_level="warning"))) as client:
        body = {"account_id": "acc_demo", "action": "stale"}
        assert_error(network(client, body), 500, "INTERNAL_ERROR", "stale")
        assert balance(client) == 1000
        assert graph(client) == []
    assert len(plans) == MAX_REPLANS
