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
from schemathesis.specs.openapi.checks import positive_data_acceptance

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
        max_examples=25 if configured is schema else 15,
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
    _whole_params(case)


def _whole_params(case: Case[Any]) -> None:
    """JSON Schema counts 111.0 as an integer; the v2 params refuse it on purpose (SPEC 1.1: a
    float is a client bug), which no schema can say. A valid case sends the integer itself;
    tests/test_network.py tests the refusal."""
    meta = case.meta
    if case.operation.label != "POST /v2/network" or meta is None:
        return
    body = case.body
    if not meta.generation.mode.is_positive or not isinstance(body, dict):
        return
    params = body.get("params")
    if isinstance(params, dict):
        for key, value in params.items():
            if isinstance(value, float) and value.is_integer():
                params[key] = int(value)


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


# Actions that name an invitation: a schema-valid id names one only if the graph holds it
# (a 400 otherwise, documented), which no schema can say; tests/test_network.py covers them.
NAMES_AN_INVITATION = {"accept", "decline", "withdraw"}


def _excluded(case: Case[Any]) -> list[Any]:
    body = case.body if isinstance(case.body, dict) else {}
    action = body.get("action") if isinstance(body.get("action"), str) else None
    if case.operation.label == "POST /v2/network" and action in NAMES_AN_INVITATION:
        return [positive_data_acceptance]
    if case.operation.label.endswith("/respond"):
        return [positive_data_acceptance]
    return []


@schema.parametrize()
@repeatable
def test_openapi_contract(case: Case[Any]) -> None:
    _tame(case)
    try:
        case.call_and_validate(excluded_checks=_excluded(case))
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
        case.call_and_validate(base_url=str(server.base_url), excluded_checks=_excluded(case))
    finally:
        assert server.post("/_emulator/reset").status_code == 200


# -- stateful: sequences of network calls chained by openapi.yaml's links --------------------

STATEFUL_ACCOUNT = (
    "acc_unmetered"  # the unmetered key's account: no call is ever refused for credits
)
# Its own app, on a frozen clock: every step's answer, and so what a link feeds the next step,
# is the same on every run (hypothesis replays steps and requires that).
stateful_app = create_app(
    Settings(seed=SEED, rate_limit=0, log_level="critical", clock="2026-04-26T10:35:00Z")
)
network_schema = schemathesis.openapi.from_asgi("/openapi.json", stateful_app).include(
    path="/v2/network"
)
network_schema.config.auth = AuthConfig.from_dict(
    {"openapi": {"ApiKey": {"api_key": "unmetered_key"}}}
)


class NetworkLinks(network_schema.as_state_machine()):  # type: ignore[misc]
    """list_invitations -> accept, invite -> check_invitation and -> withdraw, as the links
    say, on one real account. Beyond schemathesis' own checks: a call whose params a link took
    from an earlier answer must succeed (the invitation it names is pending, the member it
    checks is invited), so the links are proven to lead somewhere."""

    def setup(self) -> None:
        run_sync(stateful_app.state.emulator.store.reset(None))
        self.pending_received: set[tuple[str, str]] = set()
        self.invited: dict[str, str] = {}  # invitation urn -> vanity, still pending

    def before_call(self, case: Case[Any]) -> None:
        if isinstance(case.body, dict):
            case.body["account_id"] = STATEFUL_ACCOUNT
        _tame(case)

    def validate_response(
        self, response: Response, case: Case[Any], additional_checks: Any = None, **kwargs: Any
    ) -> None:
        # Within a sequence an invite may name a member already invited (a 400 the graph
        # decides): positive acceptance is checked here only where one call cannot spoil the
        # next; the links are checked below.
        body_action = case.body.get("action") if isinstance(case.body, dict) else None
        stateful = [positive_data_acceptance] if body_action == "invite" else []
        case.validate_response(
            response,
            additional_checks=additional_checks,
            excluded_checks=_excluded(case) + stateful,
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )
        body: dict[str, Any] = case.body if isinstance(case.body, dict) else {}
        params = body.get("params")
        meta = case.meta
        if meta is None or not meta.generation.mode.is_positive or not isinstance(params, dict):
            return
        headers: dict[str, Any] = dict(case.headers or {})
        if headers.get("x-api-key") != "unmetered_key":
            return
        answer = response.json() if response.status_code == 200 else None
        action = body.get("action")
        if action == "list_invitations" and answer is not None:
            for item in answer["data"]["invitations"]:
                self.pending_received.add((item["entity_urn"], item["shared_secret"]))
        named = (str(params.get("entity_urn")), str(params.get("shared_secret")))
        if action in ("accept", "decline") and named in self.pending_received:
            assert response.status_code == 200, response.text
            self.pending_received.discard(named)
        if action == "invite" and answer is not None:
            self.invited[answer["data"]["invitation_urn"]] = answer["data"]["public_identifier"]
        checked = str(params.get("profile_url", "")).rsplit("/", 1)[-1]
        if action == "check_invitation" and checked in self.invited.values():
            assert answer is not None, response.text
            assert answer["data"]["invitation_state"] == "PENDING", response.text
        withdrawn = str(params.get("invitation_id"))
        if action == "withdraw" and withdrawn in self.invited:
            assert response.status_code == 200, response.text
            del self.invited[withdrawn]


TestNetworkLinks = NetworkLinks.TestCase
# Not derandomized: schemathesis tunes how often it follows a link from what earlier steps
# answered, which hypothesis' replay of a fixed sequence takes for flaky data generation.
TestNetworkLinks.settings = hypothesis.settings(
    max_examples=20,
    stateful_step_count=10,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
