"""The graph across threads, worker processes, restarts and fresh processes: one winner per
race, one debit per success, the same bytes from the same calls (SPEC 1.7, "Determinism")."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from linkup_emulator.pytest_plugin import LiveServer

pytestmark = pytest.mark.slow  # real servers, real sockets

KEY = "race_key"
JANE = "https://www.linkedin.com/in/jane-doe-42"
FROZEN = "2026-04-26T10:35:00Z"


def tenant(account: str, **network: Any) -> dict[str, Any]:
    return {
        "api_key": f"{KEY}_{account}",
        "credits": 1000,
        "rate_limit": 0,
        "accounts": [{"account_id": account, **network}],
    }


def at_once(base_url: str, bodies: list[dict[str, Any]], key: str) -> list[httpx.Response]:
    """Each body from its own thread and connection, all released together."""
    barrier = threading.Barrier(len(bodies))
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def send(i: int) -> None:
        with httpx.Client(base_url=base_url, headers={"x-api-key": key}, timeout=30) as client:
            client.get("/v2/credits")  # connected and warm before the race
            barrier.wait()
            answers[i] = client.post("/v2/network", json=bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None]


@pytest.fixture(scope="module", params=["memory-1-worker", "file-2-workers"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    args = ["--seed", "race", "--rate-limit", "0", "--log-level", "warning", "--clock", FROZEN]
    if request.param == "file-2-workers":
        state = tmp_path_factory.mktemp("race") / "state.db"
        args += ["--workers", "2", "--state", str(state)]
    live = LiveServer(args)
    yield live.base_url
    live.stop()


@contextmanager
def create(base_url: str, spec: dict[str, Any]) -> Iterator[httpx.Client]:
    """The tenant, fresh (as it was created, if an earlier run left it), and a client of it."""
    headers = {"x-api-key": spec["api_key"]}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        if client.post("/_emulator/reset", params={"api_key": spec["api_key"]}).status_code != 200:
            created = client.post("/_emulator/keys", json=spec)
            assert created.status_code == 201, created.text
        yield client


def test_sixteen_invites_of_one_member_make_one_invitation(server: str) -> None:
    spec = tenant("acc_race_one")
    with create(server, spec) as client:
        body = {"account_id": "acc_race_one", "action": "invite", "params": {"profile_url": JANE}}
        answers = at_once(server, [body] * 16, spec["api_key"])
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] + [400] * 15, [a.text for a in answers]
        assert {a.json()["error"]["message"][:15] for a in answers if a.status_code == 400} == {
            "CANT_RESEND_YET"
        }
        assert client.get("/v2/credits").json()["data"]["credits"] == 999
        sent = client.post("/v2/network", json={**body, "action": "list_sent", "params": {}})
        assert sent.json()["data"]["total_available_results"] == 5 + 1


def test_a_weekly_limit_holds_under_a_race_of_different_members(server: str) -> None:
    spec = tenant("acc_race_week", weekly_invitation_limit=10, pending_sent=0)
    with create(server, spec) as client:
        bodies = [
            {
                "account_id": "acc_race_week",
                "action": "invite",
                "params": {"identifier": f"member-number-{i}"},
            }
            for i in range(16)
        ]
        answers = at_once(server, bodies, spec["api_key"])
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 10 + [429] * 6, [a.text for a in answers]
        assert client.get("/v2/credits").json()["data"]["credits"] == 1000 - 10
        listed = client.post("/v2/network", json={**bodies[0], "action": "list_sent", "params": {}})
        assert listed.json()["data"]["total_available_results"] == 10


SCENARIO: list[tuple[str, dict[str, Any]]] = [
    ("invite", {"profile_url": JANE, "message": "Hello"}),
    ("list_sent", {"count": 3}),
    ("list_invitations", {"count": 2}),
    ("check_invitation", {"profile_url": JANE}),
    ("recommendations", {"count": 3}),
    ("list_connections", {"count": 2, "offset": 7}),
]


def run_scenario(base_url: str) -> list[bytes]:
    """The same calls, and the invitations they name, as a client would make them."""
    bodies: list[bytes] = []
    with httpx.Client(base_url=base_url, headers={"x-api-key": "demo_key"}, timeout=30) as client:

        def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
            body = {"account_id": "acc_demo", "action": action, "params": params}
            response = client.post("/v2/network", json=body)
            assert response.status_code == 200, response.text
            bodies.append(response.content)
            answer: dict[str, Any] = response.json()
            return answer

        for action, params in SCENARIO:
            call(action, params)
        first = call("list_invitations", {"count": 1})["data"]["invitations"][0]
        call("accept", {"entity_urn": first["entity_urn"], "shared_secret": first["shared_secret"]})
        sent = call("list_sent", {"count": 1})["data"]["invitations"][0]
        call("withdraw", {"invitation_id": sent["entity_urn"]})
        client.post("/_emulator/clock", json={"advance_s": 3 * 86_400})
        for action, params in SCENARIO[1:]:
            call(action, params)
    return bodies


def test_two_fresh_processes_answer_the_same_bytes(tmp_path: Path) -> None:
    runs = []
    for _ in range(2):
        live = LiveServer(["--seed", "same", "--log-level", "warning", "--clock", FROZEN])
        try:
            runs.append(run_scenario(live.base_url))
        finally:
            live.stop()
    assert runs[0] == runs[1]
    assert len(runs[0]) == len(SCENARIO) + 4 + len(SCENARIO) - 1
    digest = hashlib.sha256(b"".join(runs[0])).hexdigest()
    assert digest  # the same whole transcript, byte for byte


def test_the_graph_survives_a_restart_of_a_file_store(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    args = ["--seed", "kept", "--log-level", "warning", "--clock", FROZEN, "--state", str(state)]
    live = LiveServer(args)
    try:
        before = run_scenario(live.base_url)
        with httpx.Client(base_url=live.base_url, headers={"x-api-key": "demo_key"}) as client:
            view = client.get("/_emulator/accounts/acc_demo/network").json()
    finally:
        live.stop()
    again = LiveServer(args)
    try:
        with httpx.Client(base_url=again.base_url, headers={"x-api-key": "demo_key"}) as client:
            assert client.get("/_emulator/accounts/acc_demo/network").json() == view
            body = {"account_id": "acc_demo", "action": "check_invitation", "params": {}}
            body["params"] = {"profile_url": JANE}
            assert client.post("/v2/network", json=body).content == before[12]
    finally:
        again.stop()
