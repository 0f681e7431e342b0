"""The dashboard's forms (POST): each turns its fields into the JSON body the control plane's
route takes and calls that route's control.py function, so every rule (validation included)
has one copy. Then, as browsers expect, a 303 back to the page; or, when the control plane
refuses, the page again with its reason and status.

Every form is checked first: signed in (with EMULATOR_ADMIN_TOKEN set), then its CSRF token.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from linkup_emulator import control
from linkup_emulator.api import paths
from linkup_emulator.api.deps import EmulatorDep, read_body
from linkup_emulator.api.ui import guard, pages
from linkup_emulator.api.ui.render import tenant_ref
from linkup_emulator.control import ControlError

_NUMBER = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,16})?")
# What a "move by" form's unit multiplies its amount by.
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def number(text: str) -> object:
    """A form field's number as JSON has it; anything else stays text, which the control
    plane's model then refuses with its own message ("credits: must be a whole number")."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return text
    return float(text) if "." in text else int(text)


def _json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


def _done(target: str, what: str) -> Response:
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}done={what}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    guard.require_session(request)
    return guard.parse_form(request, await read_body(request))


def _tenant_url(tenant_id: str) -> str:
    return f"{paths.UI}/tenants/{tenant_id}"


# -- a tenant ------------------------------------------------------------------------------------


async def set_credits(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    api_key, ref = await pages.resolve(request, emulator, request.path_params["tenant_id"])
    credits = None if form.get("unmetered") else number(form.get("credits", ""))
    try:
        await control.patch_tenant(emulator, api_key, _json({"credits": credits}))
    except ControlError as error:
        return await pages.show_tenant(
            request, emulator, api_key, ref, problem=error.message, status=error.status
        )
    return _done(_tenant_url(ref.id), "credits")


async def set_rate_limit(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    api_key, ref = await pages.resolve(request, emulator, request.path_params["tenant_id"])
    # Empty: back to the server's default (EMULATOR_RATE_LIMIT), as a null rate_limit is.
    text = form.get("rate_limit", "").strip()
    limit = None if text == "" else number(text)
    try:
        await control.patch_tenant(emulator, api_key, _json({"rate_limit": limit}))
    except ControlError as error:
        return await pages.show_tenant(
            request, emulator, api_key, ref, problem=error.message, status=error.status
        )
    return _done(_tenant_url(ref.id), "rate-limit")


async def reset_tenant(request: Request, emulator: EmulatorDep) -> Response:
    await _form(request)
    api_key, ref = await pages.resolve(request, emulator, request.path_params["tenant_id"])
    await control.reset(emulator, api_key)
    return _done(_tenant_url(ref.id), "reset")


async def add_fault(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    api_key, ref = await pages.resolve(request, emulator, request.path_params["tenant_id"])
    match = {"api_key": api_key}
    for name in ("account_id", "action"):
        if form.get(name, "").strip():
            match[name] = form[name].strip()
    spec: dict[str, Any] = {"match": match}
    if form.get("error"):
        spec["error"] = form["error"]
    for name in ("delay_ms", "times", "probability"):
        if form.get(name, "").strip():
            spec[name] = number(form[name])
    try:
        await control.add_fault(emulator, _json(spec))
    except ControlError as error:
        return await pages.show_tenant(
            request, emulator, api_key, ref, problem=error.message, status=error.status
        )
    return _done(_tenant_url(ref.id), "fault-added")


async def delete_fault(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    await control.delete_faults(emulator, request.path_params["fault_id"])
    target = paths.UI
    if form.get("tenant"):
        _, ref = await pages.resolve(request, emulator, form["tenant"])
        target = _tenant_url(ref.id)
    return _done(target, "fault-removed")


async def set_status(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    account_id = request.path_params["account_id"]
    back = form.get("tenant", "")
    body = _json({"status": form.get("status", "")})
    try:
        await control.patch_account(emulator, account_id, body)
    except ControlError as error:
        if not back:
            raise
        api_key, ref = await pages.resolve(request, emulator, back)
        return await pages.show_tenant(
            request, emulator, api_key, ref, problem=error.message, status=error.status
        )
    if back:
        _, ref = await pages.resolve(request, emulator, back)
        return _done(_tenant_url(ref.id), "status")
    return _done(paths.UI, "status")


def _account_url(account_id: str) -> str:
    return f"{paths.UI}/accounts/{quote(account_id, safe='')}"


async def arrive(request: Request, emulator: EmulatorDep) -> Response:
    """An invitation arrives now, from the member named or a generated one; it then tops the
    page's received list, with the entity_urn and shared_secret the account's client sees."""
    form = await _form(request)
    account_id = request.path_params["account_id"]
    profile_url = form.get("profile_url", "").strip()
    body = _json({"profile_url": profile_url} if profile_url else {})
    try:
        await control.arrive(emulator, account_id, body)
    except ControlError as error:
        if isinstance(error, control.Missing):
            raise
        return await pages.show_account(
            request, emulator, account_id, problem=error.message, status=error.status
        )
    return _done(_account_url(account_id), "arrived")


async def respond(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    account_id = request.path_params["account_id"]
    invitation_id = request.path_params["invitation_id"]
    body = _json({"response": form.get("response", "")})
    try:
        await control.respond(emulator, account_id, invitation_id, body)
    except ControlError as error:
        if await emulator.store.account(account_id) is None:
            raise
        return await pages.show_account(
            request, emulator, account_id, problem=error.message, status=error.status
        )
    return _done(_account_url(account_id), "answered")


def clock_move(form: dict[str, str]) -> dict[str, Any]:
    """The clock form's fields as a ClockMove body: advance by an amount of a unit, set to an
    instant, or freeze / thaw."""
    move = form.get("move", "")
    if move == "advance":
        amount = number(form.get("amount", ""))
        factor = UNITS.get(form.get("unit", "seconds"))
        if factor is None:
            raise ControlError(f"unit must be one of {', '.join(UNITS)}")
        if isinstance(amount, int | float):
            amount = amount * factor
        return {"advance_s": amount}
    if move == "set":
        return {"set": form.get("instant", "").strip()}
    if move in ("freeze", "thaw"):
        return {"freeze": move == "freeze"}
    raise ControlError("move must be advance, set, freeze or thaw")


async def move_tenant_clock(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    api_key, ref = await pages.resolve(request, emulator, request.path_params["tenant_id"])
    try:
        await control.move_clock(emulator, api_key, _json(clock_move(form)))
    except ControlError as error:
        return await pages.show_tenant(
            request, emulator, api_key, ref, problem=error.message, status=error.status
        )
    return _done(_tenant_url(ref.id), "clock")


# -- everything ----------------------------------------------------------------------------------


async def create_tenant(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    spec: dict[str, Any] = {"api_key": form.get("api_key", "").strip()}
    if form.get("unmetered"):
        spec["credits"] = None
    elif form.get("credits", "").strip():
        spec["credits"] = number(form["credits"])
    if form.get("rate_limit", "").strip():
        spec["rate_limit"] = number(form["rate_limit"])
    country = form.get("country", "").strip() or "US"
    ids = re.split(r"[\s,]+", form.get("accounts", "").strip())
    spec["accounts"] = [{"account_id": i, "country": country} for i in ids if i]
    try:
        await control.create_tenant(emulator, _json(spec))
    except ControlError as error:
        return await pages.show_tenants(
            request, emulator, problem=error.message, status=error.status, form=form
        )
    return _done(_tenant_url(tenant_ref(request, spec["api_key"]).id), "created")


async def reset_all(request: Request, emulator: EmulatorDep) -> Response:
    await _form(request)
    await control.reset(emulator, None)
    return _done(paths.UI, "reset-all")


async def move_clock(request: Request, emulator: EmulatorDep) -> Response:
    form = await _form(request)
    try:
        await control.move_clock(emulator, None, _json(clock_move(form)))
    except ControlError as error:
        return await pages.show_clock(request, emulator, problem=error.message, status=error.status)
    return _done(f"{paths.UI}/clock", "clock")


# -- signing in and out --------------------------------------------------------------------------


async def login(request: Request) -> Response:
    form = guard.parse_form(request, await read_body(request))
    if not guard.login_required(request):
        return RedirectResponse(paths.UI, status_code=303)
    if not guard.check_token(request, form.get("token", "")):
        return pages.show_login(
            request, form.get("next", paths.UI), problem="That is not the admin token.", status=401
        )
    response = RedirectResponse(pages.safe_next(form.get("next", paths.UI)), status_code=303)
    guard.set_session(request, response)
    return response


async def logout(request: Request) -> Response:
    guard.parse_form(request, await read_body(request))
    target = f"{paths.UI}/login" if guard.login_required(request) else paths.UI
    response = _done(target, "signed-out")
    guard.clear_session(request, response)
    return response
