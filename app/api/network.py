"""The emulated v2 routes: /v2/network, /v2/credits and /v2/accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import EmulatorDep, read_body, trace

router = APIRouter(prefix="/v2", include_in_schema=False)

JSON = "application/json"


@router.post("/network")
async def network(request: Request, emulator: EmulatorDep) -> Response:
    raw = await read_body(request)
    body = await emulator.network(trace(request, "network"), request.headers, raw)
    return Response(body, media_type=JSON)


@router.get("/credits")
async def credits(request: Request, emulator: EmulatorDep) -> Response:
    body = await emulator.credits(trace(request, "get_credits"), request.headers)
    return Response(body, media_type=JSON)


@router.get("/accounts")
async def list_accounts(request: Request, emulator: EmulatorDep) -> Response:
    found = trace(request, "list_accounts")
    body = await emulator.list_accounts(found, request.headers, request.query_params)
    return Response(body, media_type=JSON)


@router.get("/accounts/{account_id}")
async def get_account(account_id: str, request: Request, emulator: EmulatorDep) -> Response:
    body = await emulator.get_account(trace(request, "get_account"), request.headers, account_id)
    return Response(body, media_type=JSON)
