"""The emulated v2 routes (/v2/network, /v2/credits, /v2/accounts), answered by a fast path.

`Fastpath` answers the v2 routes of api/paths.py ahead of Starlette's exception, routing and
dependency layers, which measured at about half of a request's time (bench/). Anything else —
the control plane, docs, and v2 paths or methods no route takes (once their key is checked) —
goes on to the app, whose 404/405 handler answers from the same table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from linkup_emulator.api import paths, webhooks
from linkup_emulator.api.deps import emulator_of, read_body, trace
from linkup_emulator.api.errors import JSON, api_error
from linkup_emulator.errors import ApiError

_NO_QUERY: Mapping[str, str] = {}
GRAPH_WRITES = frozenset({"invite", "accept", "decline", "withdraw"})  # the actions that change it


def query(request: Request) -> Mapping[str, str]:
    """The query parameters; most calls have none, and then nothing is parsed."""
    return request.query_params if request.scope.get("query_string") else _NO_QUERY


async def network(request: Request) -> Response:
    raw = await read_body(request)
    found = trace(request)
    body = await emulator_of(request).network(found, request.headers, raw, query(request))
    if found.action in GRAPH_WRITES and found.account_id is not None:
        # Its webhooks' events are swept off this path (a no-op while none exist).
        request.app.state.webhooks.dispatcher.changed(found.account_id)
    return Response(body, media_type=JSON)


async def get_credits(request: Request) -> Response:
    found = trace(request)
    body = await emulator_of(request).credits(found, request.headers, query(request))
    return Response(body, media_type=JSON)


async def list_accounts(request: Request) -> Response:
    found = trace(request)
    body = await emulator_of(request).list_accounts(found, request.headers, query(request))
    return Response(body, media_type=JSON)


async def get_account(request: Request) -> Response:
    account_id: str = request.path_params["account_id"]  # percent-decoded (paths.Route.match)
    found, asked = trace(request), query(request)
    body = await emulator_of(request).get_account(found, request.headers, account_id, asked)
    return Response(body, media_type=JSON)


ENDPOINTS: dict[str, Callable[[Request], Awaitable[Response]]] = {
    "network": network,
    "get_credits": get_credits,
    "list_accounts": list_accounts,
    "get_account": get_account,
    **webhooks.ENDPOINTS,
}


class Fastpath:
    """Pure ASGI: the v2 routes, answered directly; everything else goes on to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = paths.local(scope)
            found = paths.v2_route(scope["method"], path)
            if found is not None:
                route, scope["path_params"] = found
                request = Request(scope, receive)
                try:
                    response = await ENDPOINTS[route.name](request)
                except ApiError as error:
                    response = api_error(request, error)
                await response(scope, receive, send)
                return
            if paths.is_v2(path):
                # An unknown path or a wrong method under /v2: the key first (a bad one is 403
                # on any path, as on the real service), then the app's 404 or 405.
                request = Request(scope, receive)
                try:
                    await emulator_of(request).check_key(trace(request), request.headers)
                except ApiError as error:
                    await api_error(request, error)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
