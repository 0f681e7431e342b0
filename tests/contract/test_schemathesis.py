"""schemathesis over the hand-written openapi.yaml: 0 failures.

Once in process over the ASGI app (fast, every example), and once over real HTTP against a
`linkup-emulator` process, the way a user's CI points schemathesis at the emulator: that run
also covers what only the server sees (uvicorn's parsing, headers on the wire, content length).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case, DeserializationContext, GenerationMode
from schemathesis.config._auth import AuthConfig
from schemathesis.core.media_types import YAML_MEDIA_TYPES
from schemathesis.core.transport import Response

from linkup_emulator.errors import FORCIBLE
from linkup_emulator.main import create_app, run_sync
from linkup_emulator.pytest_plugin import LiveServer
from linkup_emulator.settings import Settings

OPENAPI = Path(__file__).parents[2] / "openapi.yaml"
SEED = "contract"


# Every YAML type: schemathesis tries them as one family, in the order they were registered.
@schemathesis.deserializer(*YAML_MEDIA_TYPES)
def _yaml_is_text(_: DeserializationContext, response: Response) -> str:
    """/openapi.yaml is declared as what a client receives, text (`type: string`); schemathesis
    would parse it and check the parsed mapping against that. The text's being the same
    document as /openapi.json is tested in tests/test_observability.py."""
    return response.text


app = create_app(Settings(seed=SEED, rate_limit=0, log_level="critical"))
emulator = app.state.emulator
# The served /openapi.json is openapi.yaml itself, converted; nothing of FastAPI's own schema.
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
live_schema = schemathesis.openapi.from_path(OPENAPI)
for configured in (schema, live_schema):
    # Valid auth is the unmetered fixture key; schemathesis still sends invalid keys on purpose.
    configured.config.auth = AuthConfig.from_dict(
        {"openapi": {"ApiKey": {"api_key": "unmetered_key"}}}
    )
    configured.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=40 if configured is schema else 15,
        deterministic=True,
        # HTTP servers accept headers they don't know; only declared parameters are checked.
        allow_extra_parameters=False,
    )
repeatable = hypothesis.settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)


def _tame(case: Case[Any]) -> None:
    """Forced errors and long sleeps are opt-in features with their own tests (test_faults.py):
    a valid value would turn a valid request into a deliberate error or a 30 s wait, so valid
    values are dropped here; invalid ones stay, and must be rejected."""
    headers: MutableMapping[str, Any] = case.headers or {}
    delay = str(headers.get("X-Emulator-Delay-Ms", ""))
    if delay.isdigit() and int(delay) <= 30_000:
        headers["X-Emulator-Delay-Ms"] = "0"
    if headers.get("X-Emulator-Error") in FORCIBLE:
        del headers["X-Emulator-Error"]
    _possible_move(case)


# A day: an advance the clock can always make (it stops at 9999-12-31T23:59:59Z).
MOST_ADVANCE_S = 86_400.0
LATER = "2999-01-01T00:00:00Z"  # after any now the clock reads in these runs


def _possible_move(case: Case[Any]) -> None:
    """A valid clock move the clock can make: what it refuses depends on its state (a `set`
    before now, an advance past year 9999) and on the query beside the body (`freeze` is
    global: not with `api_key`), which no schema can say; test_clock.py tests those refusals.
    An invalid body stays as it is, and must be refused."""
    meta = case.meta
    if case.operation.label != "POST /_emulator/clock" or meta is None:
        return
    if not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    body: dict[str, Any] = case.body
    if body.get("set") is not None:
        body["set"] = LATER
    advance = body.get("advance_s")
    if isinstance(advance, int | float) and not isinstance(advance, bool):
        body["advance_s"] = min(advance, MOST_ADVANCE_S)
    if body.get("freeze") is not None and case.query:
        case.query.pop("api_key", None)


@schema.parametrize()
@repeatable
def test_openapi_contract(case: Case[Any]) -> None:
    _tame(case)
    try:
        case.call_and_validate()
    finally:
        # A generated fault rule or rate limit must not leak into the next generated case.
        run_sync(emulator.store.reset(None))


@pytest.fixture(scope="module")
def server() -> Iterator[httpx.Client]:
    """A live emulator, and one client to its control plane (a new one per call costs ~35 ms)."""
    live = LiveServer(["--seed", SEED, "--rate-limit", "0", "--log-level", "critical"])
    with httpx.Client(base_url=live.base_url) as control:
        yield control
    live.stop()


@pytest.mark.slow
@live_schema.parametrize()
@repeatable
def test_openapi_contract_over_http(case: Case[Any], server: httpx.Client) -> None:
    _tame(case)
    try:
        case.call_and_validate(base_url=str(server.base_url))
    finally:
        assert server.post("/_emulator/reset").status_code == 200
