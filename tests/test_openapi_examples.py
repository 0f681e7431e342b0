"""Every example in openapi.yaml is a real answer: each is replayed against the emulator.

An example is found by where it sits in the document (a response component's example shows
under every operation that uses it, so it is replayed once). Each has a recipe: the settings,
the emulated time, the calls before, and the request; the answer must be the example, status
and body, byte for byte once parsed. Only values that cannot repeat (a duration, an uptime)
are compared by type. A new example without a recipe fails `test_every_example_has_a_recipe`.
"""

from __future__ import annotations

import calendar
import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from linkup_emulator.api import paths
from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from tests.support.clock import ManualClock
from tests.support.openapi import load_spec

WHEN = "2026-04-26T10:35:00Z"  # the time every v2 example carries
DEMO = {"x-api-key": "demo_key"}
TENANT_EXAMPLE_POINTER = (
    "/paths/~1_emulator~1keys/post/requestBody/content/application~1json/example"
)
FAULT_EXAMPLE_POINTER = (
    "/paths/~1_emulator~1faults/post/requestBody/content/application~1json/example"
)


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    at: str | None = None  # emulated time of the call; None: the recipe's
    status: int | None = None  # for calls before: what they must answer


JANE = {"profile_url": "https://www.linkedin.com/in/jane-doe-42"}


@dataclass(frozen=True)
class Recipe:
    request: Call
    status: int
    before: tuple[Call, ...] = ()
    at: str = WHEN
    settings: dict[str, Any] = field(default_factory=dict)
    volatile: tuple[tuple[str | int, ...], ...] = ()  # compared by type only
    crash: bool = False  # the store fails: the last-resort 500


def _doc(pointer: str) -> Any:
    node: Any = load_spec()
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _network(account: str, key: str = "demo_key", at: str | None = None, **body: Any) -> Call:
    return Call(
        "POST",
        "/v2/network",
        {"account_id": account, "action": "recommendations", **body},
        {"x-api-key": key},
        at=at,
    )


NETWORK_REQUEST = "/paths/~1v2~1network/post/requestBody/content/application~1json/examples"
RESPONSES = "/components/responses"
JSON = "content/application~1json"


def op(path: str, method: str, status: int, example: str | None = None) -> str:
    """The pointer of an operation's own response example (`example`, or one of `examples`)."""
    where = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}/{JSON}"
    return f"{where}/example" if example is None else f"{where}/examples/{example}"


def component(name: str, example: str | None = None) -> str:
    """The pointer of a response component's example, shown wherever the component is used."""
    where = f"{RESPONSES}/{name}/{JSON}"
    return f"{where}/example" if example is None else f"{where}/examples/{example}"


RECIPES: dict[str, Recipe] = {
    # -- the vendor's routes
    op("/v2/network", "post", 200, "recommendation"): (
        Recipe(
            Call(
                "POST",
                "/v2/network",
                _doc(NETWORK_REQUEST + "/recommendations/value"),
                DEMO,
            ),
            200,
        )
    ),
    op("/v2/credits", "get", 200, "metered"): Recipe(
        Call("GET", "/v2/credits", headers=DEMO),
        200,
        before=(
            _network("acc_demo", params={"count": 10}),
            _network("acc_demo", params={"count": 20}),
        ),
    ),
    op("/v2/credits", "get", 200, "unmetered"): (
        Recipe(Call("GET", "/v2/credits", headers={"x-api-key": "unmetered_key"}), 200)
    ),
    op("/v2/accounts", "get", 200, "first"): Recipe(
        Call("GET", "/v2/accounts?limit=1", headers=DEMO), 200
    ),
    op("/v2/accounts/{account_id}", "get", 200, "demo"): (
        Recipe(Call("GET", "/v2/accounts/acc_demo", headers=DEMO), 200)
    ),
    # -- the vendor's errors
    component("BadRequest", "invalidParams"): Recipe(
        _network("acc_demo", params={"total_results": 10}), 400
    ),
    component("BadRequest", "unknownQuery"): Recipe(
        Call("GET", "/v2/accounts?count=2", headers=DEMO), 400
    ),
    component("BadRequest", "invalidAction"): Recipe(
        Call(
            "POST",
            "/v2/network",
            {"account_id": "acc_demo", "action": "connect", "params": {}},
            DEMO,
        ),
        400,
    ),
    component("InsufficientCredits"): Recipe(
        _network("acc_broke", "broke_key", params={"count": 10}), 402
    ),
    component("Forbidden", "invalidApiKey"): Recipe(
        _network("acc_demo", "not_a_key"), 403, at="2026-03-24T12:00:00Z"
    ),
    component("Forbidden", "accountInactive"): Recipe(_network("acc_inactive"), 403),
    component("InvalidAccount"): Recipe(_network("acc_nope"), 404),
    component("MethodNotAllowed"): Recipe(Call("GET", "/v2/network", headers=DEMO), 405),
    component("RateLimited"): Recipe(
        # throttled_key takes 2 a minute; its window opened 48 s before the third call
        _network("acc_throttled", "throttled_key"),
        429,
        before=(
            _network("acc_throttled", "throttled_key", at="2026-04-26T10:34:12Z"),
            _network("acc_throttled", "throttled_key", at="2026-04-26T10:34:12Z"),
        ),
    ),
    component("InternalError"): Recipe(_network("acc_demo"), 500, crash=True),
    # -- the control plane
    op("/_emulator/health", "get", 200): Recipe(
        Call("GET", "/_emulator/health"), 200, volatile=(("uptime_s",),)
    ),
    op("/_emulator/reset", "post", 200, "all"): (Recipe(Call("POST", "/_emulator/reset"), 200)),
    op("/_emulator/reset", "post", 200, "tenant"): (
        Recipe(Call("POST", "/_emulator/reset?api_key=demo_key"), 200)
    ),
    op("/_emulator/keys", "post", 201): Recipe(
        Call("POST", "/_emulator/keys", _doc(TENANT_EXAMPLE_POINTER)), 201
    ),
    op("/_emulator/keys/{api_key}", "get", 200): (
        Recipe(
            Call("GET", "/_emulator/keys/ci_job_1234"),
            200,
            before=(
                Call("POST", "/_emulator/keys", _doc(TENANT_EXAMPLE_POINTER), status=201),
                _network("acc_ci_1234", "ci_job_1234", params={"count": 10}),
                _network("acc_ci_1234", "ci_job_1234", params={"count": 20}),
            ),
        )
    ),
    op("/_emulator/requests", "get", 200): Recipe(
        Call("GET", "/_emulator/requests?limit=1"),
        200,
        before=(
            Call(
                "POST",
                "/v2/network",
                {"account_id": "acc_demo", "action": "recommendations"},
                {**DEMO, "x-request-id": "0b6f3c1e2a7d4f59"},
                status=200,
            ),
        ),
        volatile=(("items", 0, "duration_ms"),),
    ),
    op("/_emulator/clock", "get", 200): Recipe(Call("GET", "/_emulator/clock"), 200),
    op("/_emulator/clock", "post", 200): Recipe(
        Call(
            "POST",
            "/_emulator/clock",
            _doc("/paths/~1_emulator~1clock/post/requestBody/content/application~1json/example"),
        ),
        200,
    ),
    op("/_emulator/faults", "post", 201): Recipe(
        Call("POST", "/_emulator/faults", _doc(FAULT_EXAMPLE_POINTER)), 201
    ),
    op("/_emulator/faults", "delete", 200): Recipe(
        Call("DELETE", "/_emulator/faults"),
        200,
        before=tuple(
            Call("POST", "/_emulator/faults", {"error": code}, status=201)
            for code in ("RATE_LIMITED", "INTERNAL_ERROR", "INVALID_PARAMS")
        ),
    ),
    op("/_emulator/faults/{fault_id}", "delete", 200): (
        Recipe(
            Call("DELETE", "/_emulator/faults/flt_1"),
            200,
            before=(Call("POST", "/_emulator/faults", {"delay_ms": 5}, status=201),),
        )
    ),
    # -- the control plane's errors
    component("ControlBadRequest"): Recipe(
        Call(
            "POST",
            "/_emulator/keys",
            {"api_key": "k", "accounts": [{"account_id": "a", "pool_size": 10_001}]},
        ),
        400,
    ),
    component("Unauthorized"): Recipe(
        Call("GET", "/_emulator/keys/demo_key"), 401, settings={"admin_token": "s3cret"}
    ),
    component("ControlNotFound"): Recipe(Call("GET", "/_emulator/keys/nope"), 404),
    component("Conflict"): Recipe(Call("POST", "/_emulator/keys", {"api_key": "demo_key"}), 409),
    component("ControlMethodNotAllowed"): Recipe(Call("PUT", "/_emulator/faults"), 405),
    component("ControlConflict"): Recipe(
        Call("POST", "/_emulator/accounts/acc_demo/invitations", JANE),
        409,
        before=(Call("POST", "/_emulator/accounts/acc_demo/invitations", JANE, status=201),),
    ),
}


def _examples() -> Iterator[str]:
    """The pointer of every response example (request examples are what the recipes send)."""

    def media(pointer: str, content: dict[str, Any]) -> Iterator[str]:
        for media_type, entry in content.items():
            at = f"{pointer}/content/{media_type.replace('/', '~1')}"
            if "example" in entry:
                yield f"{at}/example"
            for name in entry.get("examples", {}):
                yield f"{at}/examples/{name}"

    spec = load_spec()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, response in op["responses"].items():
                if "$ref" not in response:
                    where = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}"
                    yield from media(where, response.get("content", {}))
    for name, response in spec["components"]["responses"].items():
        yield from media(f"{RESPONSES}/{name}", response.get("content", {}))


def _epoch(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


def _same_type(answer: Any, example: Any, path: tuple[str | int, ...]) -> tuple[Any, Any]:
    """Both bodies with the volatile value at `path` replaced by its type's name."""
    *parents, last = path
    for body in (answer, example):
        node = body
        for part in parents:
            node = node[part]
        node[last] = type(node[last]).__name__
    return answer, example


def test_every_example_has_a_recipe() -> None:
    examples = sorted(set(_examples()))
    assert len(examples) >= 25
    assert sorted(set(examples) - set(RECIPES)) == [], "examples without a recipe"
    assert sorted(set(RECIPES) - set(examples)) == [], "recipes without an example"


def _name(pointer: str) -> str:
    """`BadRequest/invalidParams`, `GET /v2/credits 200/metered`: where the example shows."""
    parts = [part.replace("~1", "/") for part in pointer.split("/")]
    name = parts[-1] if parts[-2] == "examples" else "example"
    if parts[1] == "components":
        return f"{parts[3]}/{name}"
    return f"{parts[3].upper()} {parts[2]} {parts[5]}/{name}"


@pytest.mark.parametrize("pointer", sorted(RECIPES), ids=_name)
def test_the_example_is_what_the_emulator_answers(
    pointer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = RECIPES[pointer]
    example = _doc(pointer)
    value = example["value"] if "/examples/" in pointer else example
    clock = ManualClock(_epoch(recipe.at))
    settings = Settings(log_level="warning", **recipe.settings)
    with TestClient(create_app(settings, wall=clock)) as client:
        for call in recipe.before:
            clock.value = _epoch(call.at or recipe.at)
            done = client.request(call.method, call.url, json=call.json, headers=call.headers)
            assert done.status_code == (call.status or 200), done.text
        clock.value = _epoch(recipe.request.at or recipe.at)
        if recipe.crash:

            async def broken(*_: object) -> None:
                raise RuntimeError("the store is gone")

            monkeypatch.setattr(client.app.state.emulator.store, "lookup", broken)  # type: ignore[attr-defined]
        call = recipe.request
        response = client.request(call.method, call.url, json=call.json, headers=call.headers)
    answer = response.json()
    for path in recipe.volatile:
        answer, value = _same_type(answer, copy.deepcopy(value), path)
    assert response.status_code == recipe.status, answer
    assert answer == value


def test_every_route_of_the_table_is_in_the_contract() -> None:
    """What the server answers is what openapi.yaml documents: every route of api/paths.py
    (the docs page and the dashboard aside, HTML for people) is an operation, with HEAD beside
    each GET."""
    documented = {
        (method.upper(), path)
        for path, item in load_spec()["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (method, route.template)
        for route in paths.ROUTES
        if route.template != "/docs" and not paths.is_ui(route.template)
        for method in route.methods
    }
    assert served == documented
