"""The app factory: create_app(settings) wires the store, generator, clock, routes and handlers."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from linkup_emulator import __version__, fixtures
from linkup_emulator.api import control as control_routes
from linkup_emulator.api import docs, network, paths, ui
from linkup_emulator.api.errors import api_error, control_error
from linkup_emulator.api.guard import HostPolicy, RequestGuard
from linkup_emulator.api.middleware import EnvelopeCORSMiddleware, Observability
from linkup_emulator.clock import (
    SYSTEM_CLOCK,
    Clock,
    ClockState,
    EmulatedClock,
    SystemClock,
    parse_instant,
)
from linkup_emulator.control import ControlError, Missing, WrongMethod
from linkup_emulator.emulator import Emulator, Policy
from linkup_emulator.errors import (
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    ApiError,
    InvalidParams,
    MethodNotAllowed,
    NotFound,
)
from linkup_emulator.generator import PeopleGenerator
from linkup_emulator.limits import ConnectionLimits
from linkup_emulator.observability.logging import configure_logging, log
from linkup_emulator.observability.metrics import Metrics
from linkup_emulator.settings import Settings, explain
from linkup_emulator.store import StoreConflict, StoreUnavailable, open_store
from linkup_emulator.webhooks.delivery import Dispatcher
from linkup_emulator.webhooks.events import Pipeline
from linkup_emulator.webhooks.service import Webhooks

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """A store call made while the app is built, outside any event loop of the server's; on
    a thread of its own when the caller already runs a loop (an async test, say). Backends
    hold nothing tied to one loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return api_error(request, exc)


async def on_control_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlError)
    return control_error(request, exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """No route answers: a 405 (with Allow) if one takes another method on this path, else a
    404; in the envelope of the path's side."""
    assert isinstance(exc, HTTPException)
    method, path = request.method, paths.local(request.scope)
    shown = request.scope["path"][:200]
    allowed = paths.allowed(path)
    control = paths.is_control(path)
    # A route of the table that the router could not take (an encoded "/" inside a control-plane
    # id, which no id holds) names nothing that exists: 404, not a 405 for an allowed method.
    if allowed and method not in allowed:
        allow = {"Allow": ", ".join(allowed)}
        message = MSG_METHOD_NOT_ALLOWED.format(method=method, path=shown)
        if control:
            return control_error(request, WrongMethod(message, headers=allow))
        return api_error(request, MethodNotAllowed(message, headers=allow))
    message = MSG_NOT_FOUND.format(method=method, path=shown)
    if control:
        return control_error(request, Missing(message))
    return api_error(request, NotFound(message))


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """Routes parse their own input; this only guards against a future route that doesn't."""
    assert isinstance(exc, RequestValidationError)
    message = "; ".join(str(e.get("msg", "")) for e in exc.errors()) or "invalid request"
    if paths.is_control(paths.local(request.scope)):
        return control_error(request, ControlError(message))
    return api_error(request, InvalidParams(message))


ENDPOINTS = {**control_routes.ENDPOINTS, **docs.ENDPOINTS, **ui.ENDPOINTS}

# FastAPI's native OpenTelemetry (newer releases) asks the global providers whether to trace on
# every request (~10 us of a ~70 us call, measured in process); the emulator's metrics are
# Prometheus, so it is switched off where FastAPI has it.
NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(settings: Settings | None = None, *, wall: Clock | None = None) -> FastAPI:
    """A fully wired emulator; fixtures and the state are opened here, so a bad one fails the
    start. `wall` is the real time the emulated clock runs over (the system's by default)."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    tenants = fixtures.load(settings.fixtures)
    if not tenants:
        # Allowed (CI jobs may create every tenant at runtime), but a wrong path looks the same.
        log.warning(
            f"no tenants in {settings.fixtures}: every key is refused (403) until one is created"
            " with POST /_emulator/keys"
        )
    store = open_store(settings.state, processes=settings.workers, prefix=settings.redis_prefix)
    initial = (
        SYSTEM_CLOCK if settings.clock == "system" else ClockState(parse_instant(settings.clock))
    )
    try:
        # The clock first: fixture tenants new to the state are born at its time.
        run_sync(store.seed_clock(initial))
        now = run_sync(store.clock()).now((wall or SystemClock()).now())
        run_sync(store.seed_fixtures(tenants, born=now))
    except StoreConflict as conflict:
        run_sync(store.close())
        raise fixtures.FixtureError(f"{settings.fixtures}: {conflict}") from conflict
    policy = Policy(settings.seed, settings.rate_limit, settings.journal_size)
    people = PeopleGenerator(settings.seed, cache_bytes=settings.people_cache_mb * 2**20)
    emulator = Emulator(policy, store, people, EmulatedClock(wall))
    webhooks = _webhooks(emulator, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if await store.hooks(None):  # a kept state's webhooks deliver again
            webhooks.dispatcher.start()
        yield
        await asyncio.to_thread(webhooks.dispatcher.close)
        await store.close()  # whatever the backend still holds back

    app = FastAPI(
        lifespan=lifespan,
        title="linkup-emulator",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # "/v2/network/" is an unknown path (404 in the envelope), not a 307 to elsewhere.
        redirect_slashes=False,
        **NO_TELEMETRY,
    )
    app.state.emulator = emulator
    app.state.webhooks = webhooks
    token = settings.admin_token
    app.state.admin_token = token.get_secret_value().encode() if token else None
    app.state.metrics = Metrics(app.state.admin_token or b"")
    app.state.started = time.monotonic()
    app.state.limits = ConnectionLimits(
        settings.max_connections, settings.head_timeout_s, settings.write_timeout_s
    )
    # The v2 routes are answered by network.Fastpath; the rest by the router, from one table.
    for route in paths.ROUTES:
        if route in paths.V2_ROUTES:
            continue
        app.router.add_api_route(
            route.template,
            ENDPOINTS[route.name],
            methods=list(route.methods),
            name=route.name,
            include_in_schema=False,
        )
    app.mount(paths.ASSETS, docs.SWAGGER_ASSETS, name="docs-assets")
    app.mount(paths.UI_ASSETS, ui.ASSETS, name="ui-assets")
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(ControlError, on_control_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    # Middleware added last runs first: Observability, the guard, CORS, the v2 fast path.
    app.add_middleware(network.Fastpath)
    if settings.cors_origins:
        app.add_middleware(
            EnvelopeCORSMiddleware,
            clock=emulator.clock,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id", "X-Emulator-Version", "Retry-After"],
        )
    app.add_middleware(
        RequestGuard,
        clock=emulator.clock,
        hosts=HostPolicy(settings.allowed_hosts, settings.host),
        trusted_origins=settings.cors_origins,
    )
    app.add_middleware(Observability, emulator=emulator, metrics=app.state.metrics)
    return app


def _webhooks(emulator: Emulator, settings: Settings) -> Webhooks:
    """The webhooks' service, its event pipeline over the graph, and the dispatcher thread."""
    pipeline = Pipeline(
        emulator.store,
        settings.seed,
        emulator.now,
        emulator.clock.wall.now,
        emulator.graph_events,
    )
    dispatcher = Dispatcher(
        emulator.store,
        pipeline,
        hosts=settings.webhook_hosts,
        retry_base_s=settings.webhook_retry_base_s,
        timeout_s=settings.webhook_timeout_s,
        sweep_s=settings.webhook_sweep_s,
        journal_size=settings.journal_size,
        now=emulator.now,
    )
    return Webhooks(emulator, pipeline, dispatcher, settings.webhook_hosts)


_default: FastAPI | None = None


def build(settings: Settings | None = None) -> FastAPI:
    """create_app for a server's start: a bad setting, fixture or state file exits with one
    line, whether the start is `linkup-emulator` or `uvicorn linkup_emulator.main:app`."""
    try:
        settings = settings or Settings()
    except ValidationError as error:  # an EMULATOR_* variable
        sys.exit(explain(error))
    try:
        return create_app(settings)
    except (fixtures.FixtureError, StoreUnavailable) as error:
        sys.exit(f"linkup-emulator: {error}")


def __getattr__(name: str) -> FastAPI:
    """`uvicorn linkup_emulator.main:app` builds the app from the environment on first use,
    not at import."""
    global _default
    if name != "app":
        raise AttributeError(name)
    if _default is None:
        _default = build()
        long_lived()
    return _default


def long_lived() -> None:
    """Tune the serving process once its app is built. Everything built at start (routes,
    settings, fixtures) leaves the garbage collector's sight, so its passes over young objects
    stay short under load (p99); log records skip thread and process lookups no line prints."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    gc.collect()
    gc.freeze()
