"""The emulated clock: frozen starts, advances, per-tenant offsets, bad moves, and a golden run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.pytest_plugin import LiveServer
from linkup_emulator.settings import Settings
from tests.support.clock import ManualClock
from tests.support.http import Client, Response, assert_error, recommend
from tests.support.servers import wait_until_workers_answer

START = "2026-04-26T10:35:00Z"
GOLDEN = Path(__file__).parent / "golden" / "clock-scenario.json"
THROTTLED = {"x-api-key": "throttled_key"}


def frozen_app(wall: ManualClock | None = None, **settings: Any) -> TestClient:
    options: dict[str, Any] = {"seed": "t", "clock": START, "log_level": "warning", **settings}
    return TestClient(create_app(Settings(**options), wall=wall or ManualClock()))


def stamp(response: Response) -> str:
    timestamp: str = response.json()["metadata"]["timestamp"]
    return timestamp


def clock(client: Client, api_key: str | None = None) -> dict[str, Any]:
    params = {"api_key": api_key} if api_key is not None else {}
    view: dict[str, Any] = client.get("/_emulator/clock", params=params).json()
    return view


def move(client: Client, body: object, api_key: str | None = None) -> Response:
    params = {"api_key": api_key} if api_key is not None else {}
    return client.post("/_emulator/clock", params=params, json=body)


def test_a_frozen_start_is_in_every_timestamp_and_stays(tmp_path: Path) -> None:
    wall = ManualClock()
    with frozen_app(wall) as client:
        wall.advance(3600)  # an hour of real time passes; the emulated clock does not move
        answers = [
            recommend(client, count=1),
            client.get("/v2/credits", headers={"x-api-key": "demo_key"}),
            client.get("/v2/accounts", headers={"x-api-key": "demo_key"}),
            client.get("/v2/credits", headers={"x-api-key": "nobody"}),  # 403 before any tenant
            client.get("/v2/nowhere", headers={"x-api-key": "demo_key"}),  # 404
            client.put("/v2/credits"),  # 405
            recommend(client, "acc_inactive"),
        ]
        assert {stamp(answer) for answer in answers} == {START}
        journal = client.get("/_emulator/requests").json()["items"]
        assert {item["time"] for item in journal} == {START}
        patched = client.patch("/_emulator/accounts/acc_demo", json={"status": "inactive"})
        assert patched.json()["updated_at"] == START
        assert clock(client) == {
            "now": "2026-04-26T10:35:00.000Z",
            "frozen": True,
            "offset_s": 1_777_199_700.0 - wall.value,
        }


def test_advance_moves_it_exactly() -> None:
    with frozen_app() as client:
        view = move(client, {"advance_s": 90.25}).json()
        assert (view["now"], view["frozen"]) == ("2026-04-26T10:36:30.250Z", True)
        assert stamp(recommend(client, count=1)) == "2026-04-26T10:36:30Z"
        assert move(client, {"advance_s": 0}).json()["now"] == "2026-04-26T10:36:30.250Z"
        assert move(client, {"set": "2026-04-27T00:00:00+02:00"}).json()["now"] == (
            "2026-04-26T22:00:00.000Z"  # any offset in, UTC out
        )


def test_a_running_clock_follows_real_time_from_where_it_was_set() -> None:
    wall = ManualClock()
    with frozen_app(wall) as client:
        assert move(client, {"freeze": False}).json()["frozen"] is False
        wall.advance(5)
        assert clock(client)["now"] == "2026-04-26T10:35:05.000Z"
        move(client, {"advance_s": 60})
        wall.advance(1)
        assert stamp(recommend(client, count=1)) == "2026-04-26T10:36:06Z"
        assert move(client, {"freeze": True}).json()["now"] == "2026-04-26T10:36:06.000Z"
        wall.advance(100)
        assert clock(client)["now"] == "2026-04-26T10:36:06.000Z"


def test_each_tenant_has_its_own_time_and_rate_window() -> None:
    """throttled_key allows 2 requests a minute (fixtures); two tenants share the limit's
    figure but not its window, and one tenant's advance moves only its own."""
    with frozen_app() as client:
        client.post("/_emulator/keys", json={"api_key": "b_key", "rate_limit": 2})
        for headers in (THROTTLED, {"x-api-key": "b_key"}):
            assert [client.get("/v2/credits", headers=headers).status_code for _ in range(3)] == [
                200,
                200,
                429,
            ]
        view = move(client, {"advance_s": 61}, api_key="throttled_key").json()
        assert (view["now"], view["offset_s"]) == ("2026-04-26T10:36:01.000Z", 61.0)
        fresh = client.get("/v2/credits", headers=THROTTLED)
        assert (fresh.status_code, stamp(fresh)) == (200, "2026-04-26T10:36:01Z")
        still = client.get("/v2/credits", headers={"x-api-key": "b_key"})
        assert_error(still, 429, "RATE_LIMITED", "get_credits")
        assert stamp(still) == START
        assert still.headers["retry-after"] == "60"  # a frozen clock never lets it elapse
        assert clock(client)["now"] == "2026-04-26T10:35:00.000Z"  # the global clock stayed
        assert clock(client, "b_key")["offset_s"] == 0.0


def test_a_tenant_set_is_relative_to_its_own_time() -> None:
    with frozen_app() as client:
        move(client, {"advance_s": 3600}, api_key="demo_key")
        refused = move(client, {"set": "2026-04-26T11:00:00Z"}, api_key="demo_key")
        assert refused.status_code == 400  # before the tenant's now (11:35), though after global
        assert "time only moves forward" in refused.json()["error"]["message"]
        assert move(client, {"set": "2026-04-26T12:00:00Z"}, api_key="demo_key").json() == {
            "now": "2026-04-26T12:00:00.000Z",
            "frozen": True,
            "offset_s": 5100.0,
        }


def test_a_reset_puts_the_clock_back() -> None:
    with frozen_app() as client:
        move(client, {"advance_s": 100})
        move(client, {"advance_s": 7}, api_key="demo_key")
        move(client, {"advance_s": 9}, api_key="other_key")
        assert client.post("/_emulator/reset", params={"api_key": "demo_key"}).status_code == 200
        assert clock(client, "demo_key")["offset_s"] == 0.0
        assert clock(client, "other_key")["offset_s"] == 9.0
        assert clock(client)["now"] == "2026-04-26T10:36:40.000Z"  # a tenant reset keeps it
        assert client.post("/_emulator/reset").status_code == 200
        assert clock(client)["now"] == "2026-04-26T10:35:00.000Z"
        assert clock(client, "other_key")["offset_s"] == 0.0


BAD_MOVES = [
    ({"advance_s": "10"}, "advance_s"),
    ({"advance_s": -1}, "greater than or equal to 0"),
    ({"advance_s": 1e300}, "less than or equal to"),
    ({"advance_s": True}, "advance_s"),
    ({"advance_s": None}, "exactly one of"),
    ({"set": "yesterday"}, "not an ISO 8601 instant"),
    ({"set": "2026-05-01T00:00:00"}, "has no time zone"),
    ({"set": "2026-02-30T00:00:00Z"}, "not an ISO 8601 instant"),
    ({"set": "2020-01-01T00:00:00Z"}, "time only moves forward"),
    ({"set": 1777199800}, "set"),
    ({"freeze": "yes"}, "freeze"),
    ({}, "exactly one of"),
    ({"advance_s": 1, "set": "2027-01-01T00:00:00Z"}, "exactly one of"),
    ({"rewind_s": 1}, "rewind_s"),
    ([1], "body"),
]


@pytest.mark.parametrize(("body", "named"), BAD_MOVES, ids=[str(b) for b, _ in BAD_MOVES])
def test_a_bad_move_is_a_400_naming_it_and_moves_nothing(body: object, named: str) -> None:
    with frozen_app() as client:
        response = move(client, body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "INVALID_PARAMS"
        assert named in response.json()["error"]["message"]
        assert move(client, body, api_key="demo_key").status_code == 400
        assert (
            clock(client)["now"] == clock(client, "demo_key")["now"] == ("2026-04-26T10:35:00.000Z")
        )


@pytest.mark.parametrize(
    "raw", [b'{"advance_s": NaN}', b'{"advance_s": Infinity}', b"{", b"", b"\xff"]
)
def test_a_move_that_is_not_json_or_not_finite_is_a_400(raw: bytes) -> None:
    with frozen_app() as client:
        response = client.post(
            "/_emulator/clock", content=raw, headers={"content-type": "application/json"}
        )
        assert (response.status_code, response.json()["error"]["code"]) == (400, "INVALID_PARAMS")
        assert clock(client)["now"] == "2026-04-26T10:35:00.000Z"


def test_moves_that_only_the_global_clock_makes_or_an_unknown_key() -> None:
    with frozen_app() as client:
        refused = move(client, {"freeze": False}, api_key="demo_key")
        assert refused.status_code == 400
        assert "freeze is global" in refused.json()["error"]["message"]
        assert clock(client)["frozen"] is True
        for response in (
            move(client, {"advance_s": 1}, "nobody"),
            client.get("/_emulator/clock", params={"api_key": "nobody"}),
        ):
            assert response.status_code == 404
            assert response.json() == {
                "error": {"code": "NOT_FOUND", "message": "no tenant has this api_key"}
            }
        assert move(client, {"advance_s": 1}, api_key="").status_code == 400


def test_the_admin_token_guards_the_clock() -> None:
    with frozen_app(admin_token="s3cret") as client:
        assert client.get("/_emulator/clock").status_code == 401
        assert move(client, {"advance_s": 1}).status_code == 401
        guarded = {"authorization": "Bearer s3cret"}
        assert client.get("/_emulator/clock", headers=guarded).status_code == 200


def test_a_bad_clock_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        Settings(clock="2026-04-26T10:35:00")
    assert Settings(clock="system").clock == "system"


# the golden scenario ----------------------------------------------------------------------------


def _scenario(client: TestClient) -> list[dict[str, Any]]:
    """A recorded run through the API under a frozen clock: every answer's status, Retry-After
    and body (not ids or durations, which are not the clock's)."""
    demo = {"x-api-key": "demo_key"}
    steps: list[tuple[str, str, dict[str, str], Any]] = [
        ("POST", "/v2/network", demo, {"account_id": "acc_demo", "action": "recommendations"}),
        ("GET", "/v2/credits", demo, None),
        ("GET", "/v2/accounts?limit=2", demo, None),
        ("GET", "/v2/credits", THROTTLED, None),
        ("GET", "/v2/credits", THROTTLED, None),
        ("GET", "/v2/credits", THROTTLED, None),
        ("POST", "/_emulator/clock?api_key=throttled_key", {}, {"advance_s": 30}),
        ("GET", "/v2/credits", THROTTLED, None),
        ("POST", "/_emulator/clock", {}, {"advance_s": 31}),
        ("GET", "/v2/credits", THROTTLED, None),
        ("POST", "/v2/network", demo, {"account_id": "acc_inactive", "action": "recommendations"}),
        ("PATCH", "/_emulator/accounts/acc_small", {}, {"status": "inactive"}),
        ("GET", "/v2/accounts/acc_small", demo, None),
        ("GET", "/_emulator/clock?api_key=throttled_key", {}, None),
    ]
    answers = []
    for method, path, headers, body in steps:
        response = client.request(method, path, headers=headers, json=body)
        answer = {"request": f"{method} {path}", "status": response.status_code}
        if "retry-after" in response.headers:
            answer["retry_after"] = response.headers["retry-after"]
        view = response.json()
        if path.startswith("/_emulator/clock") and "api_key" not in path:
            view.pop("offset_s")  # the global clock's distance from the real one
        answer["body"] = view
        answers.append(answer)
    return answers


def test_a_recorded_scenario_answers_the_same_bytes_under_a_frozen_clock() -> None:
    """Two fresh emulators, on different real times, answer the recorded run identically, and
    as the golden file says (UPDATE_GOLDEN=1 rewrites it)."""
    with frozen_app(ManualClock(1_800_000_000)) as client:
        first = _scenario(client)
    with frozen_app(ManualClock(1_900_000_000)) as client:
        second = _scenario(client)
    assert first == second
    text = json.dumps(first, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


# workers ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_on_one_file_report_the_same_advanced_time(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite3")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    server = LiveServer(
        ["--workers", "2", "--state", state, "--clock", START, "--log-level", "warning"],
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
    )
    try:
        wait_until_workers_answer(server, metrics, workers=2)
        with httpx.Client(base_url=server.base_url) as control:
            assert control.post("/_emulator/clock", json={"advance_s": 3600}).status_code == 200
            assert (
                control.post(
                    "/_emulator/clock", params={"api_key": "demo_key"}, json={"advance_s": 5}
                ).status_code
                == 200
            )
        # Fresh connections, so both workers answer some; each reads the clock from the file.
        seen: set[tuple[str, str]] = set()
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=server.base_url, limits=no_reuse) as client:
            for _ in range(40):
                demo = client.get("/v2/credits", headers={"x-api-key": "demo_key"})
                other = client.get("/v2/credits", headers={"x-api-key": "other_key"})
                seen.add((stamp(demo), stamp(other)))
        assert seen == {("2026-04-26T11:35:05Z", "2026-04-26T11:35:00Z")}
    finally:
        server.stop()
