"""The emulated v2 routes: /v2/network, /v2/credits and /v2/accounts.

Plain Starlette routes on the FastAPI app: they take nothing but the request, so FastAPI's
dependency solving (a fifth of a request's time when profiled) has nothing to do here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import emulator_of, read_body, trace

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


router.add_route("/v2/network", network, methods=["POST"])
router.add_route("/v2/credits", credits, methods=["GET"])
router.add_route("/v2/accounts", list_accounts, methods=["GET"])
router.add_route("/v2/accounts/{account_id}", get_account, methods=["GET"])
