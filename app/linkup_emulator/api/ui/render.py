"""How the dashboard shows things: its Jinja2 templates, tenants' labels and ids, the chart, and
the headers every page carries."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse

from linkup_emulator import __version__
from linkup_emulator.api import paths
from linkup_emulator.api.ui import guard
from linkup_emulator.clock import parse_instant
from linkup_emulator.control import mask
from linkup_emulator.observability.metrics import tenant_digest

if TYPE_CHECKING:
    import jinja2

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TENANT_ID_HEX = 16  # 64 bits of the key's HMAC: no two tenants of one emulator share an id

# Everything from this origin, nothing inline: the pages need neither, and a value that slipped
# past the escaping could not run.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def templates() -> jinja2.Environment:
    """Made at the first page, not at start: Jinja2's import (60-90 ms by `python -X
    importtime` on this 2-core machine, busy) is a cost only the dashboard's users should pay."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["part"] = lambda value: quote(str(value), safe="")
    return env


def _secret(request: Request) -> bytes:
    token: bytes | None = request.app.state.admin_token
    return token or b""


@dataclass(frozen=True, slots=True)
class TenantRef:
    """A tenant as pages name it: an opaque id for URLs, a masked label for people."""

    id: str
    label: str


def tenant_ref(request: Request, api_key: str) -> TenantRef:
    """The id is the first hex of the metrics' HMAC of the key, whose first 6 the label shows
    (`****_key#7f4711`, as /metrics labels credits): keys never appear in a URL or a form."""
    digest = tenant_digest(api_key, _secret(request))
    return TenantRef(digest[:TENANT_ID_HEX], f"{mask(api_key)}#{digest[:6]}")


def key_view(request: Request) -> Any:
    """The journal's view of a row's key: its tenant's ref (None for an unknown key's call)."""

    def view(api_key: str | None) -> TenantRef | None:
        return None if api_key is None else tenant_ref(request, api_key)

    return view


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page: its template with what every page shows, and the CSRF cookie its forms need."""
    body = (
        templates()
        .get_template(template)
        .render(
            csrf=guard.csrf_token(request),
            signed_in=guard.login_required(request) and not guard.needs_login(request),
            version=__version__,
            ui=paths.UI,
            static=paths.UI_ASSETS,
            path=request.url.path,
            done=DONE.get(request.query_params.get("done", "")),
            **context,
        )
    )
    response = HTMLResponse(body, status, {**HEADERS, **(headers or {})})
    guard.keep_csrf(request, response)
    return response


def error_page(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str]
) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"title": f"{status} error", "status": status, "code": code, "message": message},
        status=status,
        headers=headers,
    )


# What a form that worked says on the page it returns to (?done=<name>): fixed texts, so a link
# can't make a page say anything else.
DONE = {
    "credits": "Credits set.",
    "rate-limit": "Rate limit set.",
    "reset": "Tenant reset to how it was loaded or created.",
    "reset-all": "Everything reset to the fixtures.",
    "created": "Tenant created.",
    "fault-added": "Fault rule added.",
    "fault-removed": "Fault rule removed.",
    "status": "Account status changed.",
    "clock": "Clock moved.",
    "answered": "The member answered the invitation.",
    "arrived": "An invitation arrived: it is at the top of the received ones.",
    "signed-out": "Signed out.",
}


# -- calls over time ---------------------------------------------------------------------------

CHART_BUCKETS = 30
CHART_BUCKET_S = 120  # 30 bars of 2 minutes: the last hour of the tenant's time
CHART_WIDTH, CHART_HEIGHT = 150, 32


@dataclass(frozen=True, slots=True)
class Bar:
    x: int
    y: float
    height: float
    calls: int
    start: int  # minutes before now at which the bar's window starts


@dataclass(frozen=True, slots=True)
class Chart:
    bars: tuple[Bar, ...]
    total: int
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    bar_width: int = CHART_WIDTH // CHART_BUCKETS - 1


def chart(times: Iterable[str], now: float) -> Chart:
    """Calls per 2 minutes over the last hour before `now`, as bars of an inline SVG (drawn by
    the server: the chart needs no script)."""
    counts = [0] * CHART_BUCKETS
    for text in times:
        age = now - parse_instant(text)
        bucket = CHART_BUCKETS - 1 - math.floor(age / CHART_BUCKET_S) if age >= 0 else -1
        if 0 <= bucket < CHART_BUCKETS:
            counts[bucket] += 1
    peak = max(counts)
    step = CHART_WIDTH // CHART_BUCKETS
    bars = []
    for index, calls in enumerate(counts):
        height = 0.0 if peak == 0 else max(1.0, (CHART_HEIGHT - 2) * calls / peak)
        minutes = (CHART_BUCKETS - index) * CHART_BUCKET_S // 60
        bars.append(Bar(index * step, CHART_HEIGHT - height, height, calls, minutes))
    return Chart(tuple(bars), sum(counts), peak)
