"""The app factory: create_app(settings) wires the store, generator, routes and error handlers."""

from __future__ import annotations

import gc
import logging
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app import __version__, fixtures
from app.api import control as control_routes
from app.api import docs, network
from app.control import ControlError, Missing, WrongMethod, error_body, is_control
from app.cors import EnvelopeCORSMiddleware
from app.dispatch import Emulator
from app.errors import (
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    ApiError,
    InvalidParams,
    MethodNotAllowed,
    NotFound,
)
from app.generator import PeopleGenerator
from app.observability import Metrics, Observability, configure_logging, log
from app.settings import Settings, explain
from app.store import StoreConflict
from app.store.sqlite import SqliteStore


def _is_control(request: Request) -> bool:
    return is_control(request.scope["path"])


def _control_error(request: Request, error: ControlError) -> Response:
    request.state.code = error.code
    body = error_body(error.code, error.message)
    return Response(body, error.status, error.headers, media_type="application/json")


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return network.error_response(request, exc)


async def on_control_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlError)
    return _control_error(request, exc)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path, for the 405's Allow header."""
    methods: set[str] = set()
    # Inside a mount the scope's root_path has grown by the mount's path; match from the top.
    scope = {
        **request.scope,
        "root_path": request.scope.get("app_root_path", request.scope.get("root_path", "")),
    }
    for route in request.app.state.leaf_routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            allowed: set[str] = getattr(route, "methods", None) or route.app.methods
            methods |= allowed
    return sorted(methods)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route, wrong method), in the envelope of the path's side."""
    assert isinstance(exc, HTTPException)
    method, path = request.method, request.scope["path"][:200]
    if exc.status_code == 405:
        allow = {"Allow": ", ".join(_allowed_methods(request))}
        message = MSG_METHOD_NOT_ALLOWED.format(method=method, path=path)
        if _is_control(request):
            return _control_error(request, WrongMethod(message, headers=allow))
        return network.error_response(request, MethodNotAllowed(message, headers=allow))
    message = MSG_NOT_FOUND.format(method=method, path=path)
    if _is_control(request):
        return _control_error(request, Missing(message))
    return network.error_response(request, NotFound(message))


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """Routes parse their own input; this only guards against a future route that doesn't."""
    assert isinstance(exc, RequestValidationError)
    message = "; ".join(str(e.get("msg", "")) for e in exc.errors()) or "invalid request"
    if _is_control(request):
        return _control_error(request, ControlError(message))
    return network.error_response(request, InvalidParams(message))


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fully wired emulator; fixtures are validated here, so a bad file fails the start."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    tenants = fixtures.load(settings.fixtures)
    if not tenants:
        # Allowed (CI jobs may create every tenant at runtime), but a wrong path looks the same.
        log.warning(
            f"no tenants in {settings.fixtures}: every key is refused (403) until one is created"
            " with POST /_emulator/keys"
        )
    store = SqliteStore(settings.state, shared=settings.workers > 1)
    try:
        store.seed_fixtures(tenants)
    except StoreConflict as conflict:
        store.close()
        raise fixtures.FixtureError(f"{settings.fixtures}: {conflict}") from conflict
    emulator = Emulator(settings, store, PeopleGenerator(settings.seed))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.flush()  # the journal rows still buffered

    app = FastAPI(
        lifespan=lifespan,
        title="linkup-emulator",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # "/v2/network/" is an unknown path (404 in the envelope), not a 307 to elsewhere.
        redirect_slashes=False,
    )
    app.state.emulator = emulator
    token = settings.admin_token
    app.state.metrics = Metrics(token.get_secret_value().encode() if token else b"")
    app.state.started = time.monotonic()
    routers = (network.router, control_routes.router, docs.router)
    for router in routers:
        app.include_router(router)
    # The included routers' own routes: app.routes holds wrappers that don't carry methods.
    app.mount("/docs/assets", docs.SWAGGER_ASSETS, name="docs-assets")
    app.state.leaf_routes = [route for router in routers for route in router.routes]
    app.state.leaf_routes.append(app.routes[-1])  # the mount: GET and HEAD (docs.Assets)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(ControlError, on_control_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    # Middleware added last runs first: Observability, then CORS, then the v2 fast path.
    app.add_middleware(network.Fastpath)
    if settings.cors_origins:
        app.add_middleware(
            EnvelopeCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id", "X-Emulator-Version", "Retry-After"],
        )
    app.add_middleware(Observability, emulator=emulator, metrics=app.state.metrics)
    return app


_default: FastAPI | None = None


def build(settings: Settings | None = None) -> FastAPI:
    """create_app for a server's start: a bad setting, fixture or state file exits with one
    line, whether the start is `linkup-emulator` or `uvicorn app.main:app`."""
    try:
        settings = settings or Settings()
    except ValidationError as error:  # an EMULATOR_* variable
        sys.exit(explain(error))
    try:
        return create_app(settings)
    except fixtures.FixtureError as error:
        sys.exit(f"linkup-emulator: {error}")
    except sqlite3.Error as error:
        sys.exit(f"linkup-emulator: cannot open the state {settings.state}: {error}")


def __getattr__(name: str) -> FastAPI:
    """`uvicorn app.main:app` builds the app from the environment on first use, not at import."""
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
