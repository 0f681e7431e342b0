"""The /_emulator control-plane routes; plain JSON, guarded by EMULATOR_ADMIN_TOKEN when set.

Path parameters are read from `request.path_params`, not declared as typed arguments: a typed
one makes FastAPI build a field for it, and that imports pydantic.v1 (~30 ms of every start)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response

from app import __version__, control
from app.api.deps import AdminDep, EmulatorDep, read_body
from app.api.json import JSONBytes

router = APIRouter(prefix=control.PREFIX, include_in_schema=False)


@router.api_route("/health", methods=["GET", "HEAD"])
async def health(request: Request, emulator: EmulatorDep) -> Response:
    uptime = round(time.monotonic() - request.app.state.started, 3)
    return JSONBytes(
        {"status": "ok", "version": __version__, "store": emulator.store.kind, "uptime_s": uptime}
    )


@router.post("/reset")
async def reset(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.reset(emulator, request.query_params.get("api_key")))


@router.post("/keys")
async def create_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.create_tenant(emulator, await read_body(request)), status_code=201)


@router.api_route("/keys/{api_key}", methods=["GET", "HEAD"])
async def read_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.report(emulator, request.path_params["api_key"]))


@router.patch("/keys/{api_key}")
async def patch_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.path_params["api_key"]
    return JSONBytes(control.patch_tenant(emulator, api_key, await read_body(request)))


@router.patch("/accounts/{account_id}")
async def patch_account(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    account_id = request.path_params["account_id"]
    return JSONBytes(control.patch_account(emulator, account_id, await read_body(request)))


@router.api_route("/requests", methods=["GET", "HEAD"])
async def requests(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.journal(emulator, request.query_params))


@router.post("/faults")
async def add_fault(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.add_fault(emulator, await read_body(request)), status_code=201)


@router.api_route("/faults", methods=["GET", "HEAD"])
async def list_faults(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    return JSONBytes(control.list_faults(emulator, api_key))


@router.delete("/faults")
async def delete_faults(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    return JSONBytes(control.delete_faults(emulator, None, api_key))


@router.delete("/faults/{fault_id}")
async def delete_fault(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(control.delete_faults(emulator, request.path_params["fault_id"]))
