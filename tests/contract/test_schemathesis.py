"""schemathesis over the hand-written openapi.yaml, driving the ASGI app in process: 0 failures."""

from __future__ import annotations

import hypothesis
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.config._auth import AuthConfig

from app.errors import FORCIBLE
from app.main import create_app
from app.settings import Settings

app = create_app(Settings(seed="contract", rate_limit=0, log_level="critical"))
emulator = app.state.emulator
# The served /openapi.json is openapi.yaml itself, converted; nothing of FastAPI's own schema.
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
# Valid auth is the unmetered fixture key; schemathesis still sends invalid keys on purpose.
schema.config.auth = AuthConfig.from_dict({"openapi": {"ApiKey": {"api_key": "unmetered_key"}}})
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=40,
    deterministic=True,
    # HTTP servers accept headers they don't know; only declared parameters are checked.
    allow_extra_parameters=False,
)


def _tame(case: Case) -> None:
    """Forced errors and long sleeps are opt-in features with their own tests (test_faults.py):
    a valid value would turn a valid request into a deliberate error or a 30 s wait, so valid
    values are dropped here; invalid ones stay, and must be rejected."""
    headers = case.headers or {}
    delay = str(headers.get("X-Emulator-Delay-Ms", ""))
    if delay.isdigit() and int(delay) <= 30_000:
        headers["X-Emulator-Delay-Ms"] = "0"
    if headers.get("X-Emulator-Error") in FORCIBLE:
        del headers["X-Emulator-Error"]


@schema.parametrize()
@hypothesis.settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)
def test_openapi_contract(case: Case) -> None:
    _tame(case)
    try:
        case.call_and_validate()
    finally:
        # A generated fault rule or rate limit must not leak into the next generated case.
        emulator.store.reset(None)
