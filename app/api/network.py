"""The emulated v2 routes: /v2/network, /v2/credits and /v2/accounts, and their error envelope.

They take nothing but the request. `Fastpath` answers them ahead of Starlette's exception,
routing and dependency layers, which measured at about half of a request's time (bench/); they
are also registered on the FastAPI app, which answers other methods on these paths (405, Allow).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app import envelope
from app.api.deps import emulator_of, read_body, trace
from app.dispatch import route_action, route_template
from app.errors import ApiError

router = APIRouter(include_in_schema=False)

JSON = "application/json"


async def network(request: Request) -> Response:
    raw = await read_body(request)
    body = await emulator_of(request).network(trace(request), request.headers, raw)
    return Response(body, media_type=JSON)


async def credits(request: Request) -> Response:
    body = await emulator_of(request).credits(trace(request), request.headers)
    return Response(body, media_type=JSON)


async def list_accounts(request: Request) -> Response:
    found = trace(request)
    body = await emulator_of(request).list_accounts(found, request.headers, request.query_params)
    return Response(body, media_type=JSON)


async def get_account(request: Request) -> Response:
    account_id: str = request.path_params["account_id"]
    found = trace(request)
    body = await emulator_of(request).get_account(found, request.headers, account_id)
    return Response(body, media_type=JSON)


ROUTES = {
    ("POST", "/v2/network"): network,
    ("GET", "/v2/credits"): credits,
    ("GET", "/v2/accounts"): list_accounts,
    ("GET", "/v2/accounts/{account_id}"): get_account,
}
for (method, path), endpoint in ROUTES.items():
    router.add_route(path, endpoint, methods=[method])


def error_response(request: Request, error: ApiError) -> Response:
    """An ApiError in the vendor's envelope; the action is the body's, else the route's."""
    found = getattr(request.state, "trace", None)
    action = found.action if found else route_action(request.scope["path"])
    request.state.code = error.code
    body = envelope.error(error.code, error.message, action=action)
    return Response(body, error.status, error.headers, media_type=JSON)


class Fastpath:
    """Pure ASGI: the four v2 routes, answered directly; everything else goes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            template = route_template(scope["path"])
            endpoint = ROUTES.get((scope["method"], template)) if template else None
            if endpoint is not None:
                if template == "/v2/accounts/{account_id}":
                    scope["path_params"] = {"account_id": scope["path"][len("/v2/accounts/") :]}
                request = Request(scope, receive)
                try:
                    response = await endpoint(request)
                except ApiError as error:
                    response = error_response(request, error)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
