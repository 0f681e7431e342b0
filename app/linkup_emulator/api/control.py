"""The /_emulator control-plane endpoints; plain JSON, guarded by EMULATOR_ADMIN_TOKEN when set.

Paths and methods are in api/paths.py; ENDPOINTS maps the table's names to these functions.

Path parameters are read from `request.path_params`, not declared as typed arguments: a typed
one makes FastAPI build a field for it, and that imports pydantic.v1 (~30 ms of every start)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from linkup_emulator import __version__, control
from linkup_emulator.api.deps import AdminDep, EmulatorDep, read_body
from linkup_emulator.api.json import JSONBytes


async def health(request: Request, emulator: EmulatorDep) -> Response:
    """200 "ok", or 503 "unavailable" with the reason the store can't take writes (a full
    disk, a deleted state file): Docker's HEALTHCHECK reads it."""
    uptime = round(time.monotonic() - request.app.state.started, 3)
    problem = await emulator.store.problem()
    body: dict[str, object] = {
        "status": "ok" if problem is None else "unavailable",
        "version": __version__,
        "store": emulator.store.name,
        "uptime_s": uptime,
    }
    if problem is not None:
        body["reason"] = problem
        return JSONBytes(body, status_code=503)
    return JSONBytes(body)


async def reset(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    answer = await control.reset(emulator, api_key)
    request.app.state.metrics.forget(api_key)  # the tenant's series go with it
    return JSONBytes(answer)


async def create_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(
        await control.create_tenant(emulator, await read_body(request)), status_code=201
    )


async def read_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.report(emulator, request.path_params["api_key"]))


async def patch_key(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.path_params["api_key"]
    return JSONBytes(await control.patch_tenant(emulator, api_key, await read_body(request)))


async def patch_account(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    account_id = request.path_params["account_id"]
    return JSONBytes(await control.patch_account(emulator, account_id, await read_body(request)))


async def requests(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.journal(emulator, request.query_params))


async def add_fault(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.add_fault(emulator, await read_body(request)), status_code=201)


async def list_faults(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    return JSONBytes(await control.list_faults(emulator, api_key))


async def delete_faults(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    return JSONBytes(await control.delete_faults(emulator, None, api_key))


async def delete_fault(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.delete_faults(emulator, request.path_params["fault_id"]))


async def read_clock(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.clock_view(emulator, request.query_params.get("api_key")))


async def move_clock(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    api_key = request.query_params.get("api_key")
    moved = await control.move_clock(emulator, api_key, await read_body(request))
    # What fell due as time jumped becomes events (and monitoring charges) before the answer;
    # their delivery runs off this path.
    await request.app.state.webhooks.pipeline.tick(api_key)
    return JSONBytes(moved)


async def read_network(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    return JSONBytes(await control.network_view(emulator, request.path_params["account_id"]))


async def arrive(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    account_id = request.path_params["account_id"]
    answer = await control.arrive(emulator, account_id, await read_body(request))
    await request.app.state.webhooks.pipeline.account_changed(account_id)  # invitation_received
    return JSONBytes(answer, status_code=201)


async def respond(request: Request, emulator: EmulatorDep, _: AdminDep) -> Response:
    account_id, invitation_id = (request.path_params[k] for k in ("account_id", "invitation_id"))
    body = await read_body(request)
    answer = await control.respond(emulator, account_id, invitation_id, body)
    await request.app.state.webhooks.pipeline.account_changed(account_id)  # accepted_invitation
    return JSONBytes(answer)


ENDPOINTS: dict[str, Callable[..., Any]] = {
    "health": health,
    "reset": reset,
    "create_key": create_key,
    "read_key": read_key,
    "patch_key": patch_key,
    "patch_account": patch_account,
    "requests": requests,
    "read_clock": read_clock,
    "move_clock": move_clock,
    "read_network": read_network,
    "arrive": arrive,
    "respond": respond,
    "add_fault": add_fault,
    "list_faults": list_faults,
    "delete_faults": delete_faults,
    "delete_fault": delete_fault,
}
