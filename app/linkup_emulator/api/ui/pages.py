"""The dashboard's pages (GET): tenants, one tenant, the journal, the clock, the login form.

Every value comes from a control.py function, the same ones the JSON routes answer with; a
page only arranges it. A form that fails comes back here to show its page again with the reason
(`problem`) and the control plane's status.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from linkup_emulator import control
from linkup_emulator.actions.params import MAX_OFFSET
from linkup_emulator.api import paths
from linkup_emulator.api.deps import EmulatorDep
from linkup_emulator.api.ui import guard
from linkup_emulator.api.ui.render import TenantRef, chart, key_view, page, tenant_ref
from linkup_emulator.clock import parse_instant
from linkup_emulator.control import Missing
from linkup_emulator.emulator import Emulator
from linkup_emulator.errors import FORCIBLE
from linkup_emulator.generator.vocabulary import SUPPORTED_COUNTRIES
from linkup_emulator.models import parse_whole

JOURNAL_ROWS = 50  # the journal page's default
TENANT_JOURNAL_ROWS = 20
# The rows the charts and the usage per action are counted from: the journal's newest.
USAGE_ROWS = control.JOURNAL_LIMIT_MAX


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"next": target})
    return RedirectResponse(f"{paths.UI}/login?{query}", status_code=303)


def safe_next(target: str) -> str:
    """Where the login form may send the browser: a dashboard page of this server only."""
    if target.startswith(paths.UI) and "//" not in target and "\\" not in target:
        return target
    return paths.UI


async def resolve(request: Request, emulator: Emulator, tenant_id: str) -> tuple[str, TenantRef]:
    """The key of the tenant a URL names by its opaque id."""
    for api_key in await emulator.store.api_keys():
        ref = tenant_ref(request, api_key)
        if ref.id == tenant_id:
            return api_key, ref
    raise Missing("no tenant has this id (it may have been reset away)")


def _raw(api_key: str | None) -> str | None:
    return api_key


async def _rows_for_charts(emulator: Emulator, api_key: str | None) -> list[dict[str, Any]]:
    query = {"limit": str(USAGE_ROWS), **({"api_key": api_key} if api_key else {})}
    found = await control.journal(emulator, query, _raw)
    items: list[dict[str, Any]] = found["items"]  # type: ignore[assignment]
    return items


# -- tenants -------------------------------------------------------------------------------------


async def tenants_page(request: Request, emulator: EmulatorDep) -> Response:
    if guard.needs_login(request):
        return login_redirect(request)
    return await show_tenants(request, emulator)


async def show_tenants(
    request: Request,
    emulator: Emulator,
    *,
    problem: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    reports = await control.tenants(emulator)
    rows = await _rows_for_charts(emulator, None)
    times: dict[str, list[str]] = {}
    for row in rows:
        if row["api_key"] is not None:
            times.setdefault(row["api_key"], []).append(row["time"])
    listed = []
    for api_key, report in reports:
        clock = await control.clock_view(emulator, api_key)
        now = parse_instant(str(clock["now"]))
        listed.append(
            {
                "ref": tenant_ref(request, api_key),
                "report": report,
                "chart": chart(times.get(api_key, ()), now),
            }
        )
    context = {
        "title": "Tenants",
        "tenants": listed,
        "problem": problem,
        "form": form or {},
        "countries": sorted(SUPPORTED_COUNTRIES),
    }
    return page(request, "tenants.html", context, status=status)


# -- one tenant ----------------------------------------------------------------------------------


async def tenant_page(request: Request, emulator: EmulatorDep) -> Response:
    if guard.needs_login(request):
        return login_redirect(request)
    api_key, ref = await resolve(request, emulator, request.path_params["tenant_id"])
    return await show_tenant(request, emulator, api_key, ref)


def usage_per_action(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls, errors and credits per action, from the journal's rows of the tenant."""
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    credits: Counter[str] = Counter()
    for row in rows:
        action = row["action"] or "(none)"
        calls[action] += 1
        errors[action] += row["status"] >= 400
        credits[action] += row["credits"]
    return [
        {"action": action, "calls": n, "errors": errors[action], "credits": credits[action]}
        for action, n in sorted(calls.items(), key=lambda item: (-item[1], item[0]))
    ]


async def show_tenant(
    request: Request,
    emulator: Emulator,
    api_key: str,
    ref: TenantRef,
    *,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    report = await control.report(emulator, api_key)
    rows = await _rows_for_charts(emulator, api_key)
    clock = await control.clock_view(emulator, api_key)
    journal = await control.journal(
        emulator, {"api_key": api_key, "limit": str(TENANT_JOURNAL_ROWS)}, key_view(request)
    )
    faults = await control.list_faults(emulator, api_key)
    context = {
        "title": f"Tenant {ref.label}",
        "ref": ref,
        "report": report,
        "clock": clock,
        "chart": chart((row["time"] for row in rows), parse_instant(str(clock["now"]))),
        "usage": usage_per_action(rows),
        "counted": len(rows),
        "journal": journal,
        "faults": faults["items"],
        "codes": list(FORCIBLE),
        "problem": problem,
    }
    return page(request, "tenant.html", context, status=status)


# -- one account's network -----------------------------------------------------------------------

NETWORK_PAGE = 25


async def account_page(request: Request, emulator: EmulatorDep) -> Response:
    if guard.needs_login(request):
        return login_redirect(request)
    return await show_account(request, emulator, request.path_params["account_id"])


async def show_account(
    request: Request,
    emulator: Emulator,
    account_id: str,
    *,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    view = await control.network_view(emulator, account_id)
    given = request.query_params.get("offset", "0")
    offset = parse_whole(given, 0, MAX_OFFSET)
    if offset is None:
        raise control.ControlError("offset must be a whole number")
    lists = await control.network_lists(emulator, account_id, offset, NETWORK_PAGE)
    account = await emulator.store.account(account_id)
    owner = tenant_ref(request, account.api_key) if account is not None else None
    context = {
        "title": f"Account {account_id}",
        "account_id": account_id,
        "owner": owner,
        "view": view,
        "lists": lists,
        "page_size": NETWORK_PAGE,
        "problem": problem,
    }
    return page(request, "account.html", context, status=status)


# -- the journal ---------------------------------------------------------------------------------


def journal_filters(request: Request) -> dict[str, str]:
    """The journal page's query, as it was given (for the form and the live tail)."""
    query = request.query_params
    return {name: query.get(name, "").strip() for name in ("tenant", "account_id", "limit")}


async def journal_query(
    request: Request, emulator: Emulator, filters: dict[str, str]
) -> dict[str, str]:
    """The control plane's journal query for the page's filters: the tenant's key, the account,
    the limit (validated by control.journal itself)."""
    query = {"limit": filters["limit"] or str(JOURNAL_ROWS)}
    if filters["tenant"]:
        query["api_key"] = (await resolve(request, emulator, filters["tenant"]))[0]
    if filters["account_id"]:
        query["account_id"] = filters["account_id"]
    return query


async def journal_page(request: Request, emulator: EmulatorDep) -> Response:
    if guard.needs_login(request):
        return login_redirect(request)
    filters = journal_filters(request)
    query = await journal_query(request, emulator, filters)
    journal = await control.journal(emulator, query, key_view(request))
    choices = [tenant_ref(request, key) for key, _ in await control.tenants(emulator)]
    stream = urlencode({k: v for k, v in filters.items() if v and k != "limit"})
    context = {
        "title": "Journal",
        "journal": journal,
        "filters": filters,
        "choices": choices,
        "stream": f"{paths.UI}/journal/stream" + (f"?{stream}" if stream else ""),
    }
    return page(request, "journal.html", context)


# -- the clock -----------------------------------------------------------------------------------


async def clock_page(request: Request, emulator: EmulatorDep) -> Response:
    if guard.needs_login(request):
        return login_redirect(request)
    return await show_clock(request, emulator)


async def show_clock(
    request: Request, emulator: Emulator, *, problem: str | None = None, status: int = 200
) -> Response:
    clock = await control.clock_view(emulator, None)
    context = {"title": "Clock", "clock": clock, "problem": problem}
    return page(request, "clock.html", context, status=status)


# -- signing in ----------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    if not guard.login_required(request):
        return RedirectResponse(paths.UI, status_code=303)
    return show_login(request, request.query_params.get("next", paths.UI))


def show_login(
    request: Request, target: str, *, problem: str | None = None, status: int = 200
) -> Response:
    context = {"title": "Sign in", "next": safe_next(target), "problem": problem}
    return page(request, "login.html", context, status=status)
