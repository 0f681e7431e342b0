"""The one route table: every path the server answers, its method, and the name it goes by.

It feeds the v2 fast path (api/network.py), the router (main.py), the Allow header of a 405,
the action an error carries before a body is read, the metrics' route label, and which shape
an error takes (the vendor's envelope, or the control plane's plain JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from starlette.types import Scope

V2 = "/v2"
CONTROL = "/_emulator"
ASSETS = "/docs/assets"  # a mount: GET and HEAD of any file under it
UI = "/_emulator/ui"  # the dashboard: HTML pages and forms, for people (not in openapi.yaml)
UI_ASSETS = "/_emulator/ui/static"  # a mount, as ASSETS: the dashboard's styles, script, icon
UNKNOWN_ACTION = "unknown"  # what an error on a path no v2 route matches carries


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str  # "{name}" matches one non-empty path segment
    name: str  # the endpoint; on v2 routes also the action their errors carry

    @property
    def methods(self) -> tuple[str, ...]:
        """HEAD is GET without the body, on every route that takes GET."""
        return (self.method, "HEAD") if self.method == "GET" else (self.method,)

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters if `path` (as sent: see local()) is this route's, each segment
        percent-decoded on its own, so an encoded "/" stays inside its parameter."""
        if "{" not in self.template:
            if path == self.template or ("%" in path and segments(path) == _split(self.template)):
                return {}
            return None
        parts, wanted = segments(path), _split(self.template)
        if len(parts) != len(wanted):
            return None
        params = {}
        for part, want in zip(parts, wanted, strict=True):
            if want.startswith("{"):
                if not part:
                    return None
                params[want[1:-1]] = part
            elif part != want:
                return None
        return params


@lru_cache(maxsize=64)
def _split(template: str) -> tuple[str, ...]:
    return tuple(template.split("/"))


@lru_cache(maxsize=256)  # bounded: paths come from clients, up to a header's length each
def segments(path: str) -> tuple[str, ...]:
    """The path's segments, each percent-decoded (UTF-8) after the split on "/"."""
    parts = path.split("/")
    if "%" not in path:
        return tuple(parts)
    return tuple(unquote(part, errors="replace") for part in parts)


ROUTES: tuple[Route, ...] = (
    # the vendor's v2 API
    Route("POST", "/v2/network", "network"),
    Route("GET", "/v2/credits", "get_credits"),
    Route("GET", "/v2/accounts", "list_accounts"),
    Route("GET", "/v2/accounts/{account_id}", "get_account"),
    Route("POST", "/v2/webhooks", "create_webhook"),
    Route("GET", "/v2/webhooks", "list_webhooks"),
    Route("PUT", "/v2/webhooks/{webhook_id}", "update_webhook"),
    Route("DELETE", "/v2/webhooks/{webhook_id}", "delete_webhook"),
    Route("POST", "/v2/webhooks/{webhook_id}/start", "start_webhook"),
    Route("POST", "/v2/webhooks/{webhook_id}/stop", "stop_webhook"),
    Route("POST", "/v2/webhooks/{webhook_id}/rotate-secret", "rotate_webhook_secret"),
    Route("DELETE", "/v2/webhooks/{webhook_id}/secret", "delete_webhook_secret"),
    Route("GET", "/v2/webhooks/{webhook_id}/events", "poll_webhook_events"),
    Route("GET", "/v2/webhooks/{webhook_id}/stream", "stream_webhook_events"),
    Route("GET", "/v2/logs", "list_logs"),
    # the control plane
    Route("GET", "/_emulator/health", "health"),
    Route("POST", "/_emulator/reset", "reset"),
    Route("POST", "/_emulator/keys", "create_key"),
    Route("GET", "/_emulator/keys/{api_key}", "read_key"),
    Route("PATCH", "/_emulator/keys/{api_key}", "patch_key"),
    Route("PATCH", "/_emulator/accounts/{account_id}", "patch_account"),
    Route("GET", "/_emulator/accounts/{account_id}/network", "read_network"),
    Route("POST", "/_emulator/accounts/{account_id}/invitations", "arrive"),
    Route(
        "POST", "/_emulator/accounts/{account_id}/invitations/{invitation_id}/respond", "respond"
    ),
    Route("GET", "/_emulator/requests", "requests"),
    Route("GET", "/_emulator/clock", "read_clock"),
    Route("POST", "/_emulator/clock", "move_clock"),
    Route("POST", "/_emulator/faults", "add_fault"),
    Route("GET", "/_emulator/faults", "list_faults"),
    Route("DELETE", "/_emulator/faults", "delete_faults"),
    Route("DELETE", "/_emulator/faults/{fault_id}", "delete_fault"),
    # the dashboard (api/ui): pages, then the forms they post, each over a control.py function
    Route("GET", "/_emulator/ui", "ui_tenants"),
    Route("GET", "/_emulator/ui/tenants/{tenant_id}", "ui_tenant"),
    Route("GET", "/_emulator/ui/accounts/{account_id}", "ui_account"),
    Route("GET", "/_emulator/ui/journal", "ui_journal"),
    Route("GET", "/_emulator/ui/journal/stream", "ui_journal_stream"),
    Route("GET", "/_emulator/ui/clock", "ui_clock"),
    Route("GET", "/_emulator/ui/login", "ui_login_page"),
    Route("POST", "/_emulator/ui/login", "ui_login"),
    Route("POST", "/_emulator/ui/logout", "ui_logout"),
    Route("POST", "/_emulator/ui/tenants", "ui_create_tenant"),
    Route("POST", "/_emulator/ui/tenants/{tenant_id}/credits", "ui_set_credits"),
    Route("POST", "/_emulator/ui/tenants/{tenant_id}/rate-limit", "ui_set_rate_limit"),
    Route("POST", "/_emulator/ui/tenants/{tenant_id}/reset", "ui_reset_tenant"),
    Route("POST", "/_emulator/ui/tenants/{tenant_id}/faults", "ui_add_fault"),
    Route("POST", "/_emulator/ui/tenants/{tenant_id}/clock", "ui_move_tenant_clock"),
    Route("POST", "/_emulator/ui/faults/{fault_id}/delete", "ui_delete_fault"),
    Route("POST", "/_emulator/ui/accounts/{account_id}/status", "ui_set_status"),
    Route("POST", "/_emulator/ui/accounts/{account_id}/invitations", "ui_arrive"),
    Route(
        "POST",
        "/_emulator/ui/accounts/{account_id}/invitations/{invitation_id}/respond",
        "ui_respond",
    ),
    Route("POST", "/_emulator/ui/reset", "ui_reset_all"),
    Route("POST", "/_emulator/ui/clock", "ui_move_clock"),
    # the contract, its docs, metrics
    Route("GET", "/openapi.yaml", "openapi_yaml"),
    Route("GET", "/openapi.json", "openapi_json"),
    Route("GET", "/docs", "docs"),
    Route("GET", "/metrics", "metrics"),
)


def _under(path: str, prefix: str) -> bool:
    if path == prefix or path.startswith(prefix + "/"):
        return True
    wanted = _split(prefix)
    return "%" in path and segments(path)[: len(wanted)] == wanted


def is_v2(path: str) -> bool:
    return _under(path, V2)


def is_control(path: str) -> bool:
    """The control plane's own paths (not, say, /_emulatorx)."""
    return _under(path, CONTROL)


def is_ui(path: str) -> bool:
    """The dashboard's paths, inside the control plane's: their errors are HTML pages."""
    return _under(path, UI)


V2_ROUTES = tuple(route for route in ROUTES if is_v2(route.template))
_STATIC = {(r.method, r.template): r for r in V2_ROUTES if "{" not in r.template}
_DYNAMIC = tuple(r for r in V2_ROUTES if "{" in r.template)


def local(scope: Scope) -> str:
    """The path the routes see, as the client sent it (still percent-encoded: ASGI's decoded
    `path` turns /v2/accounts/a%2Fb into a path of one segment more), without the root path a
    proxy (or `--root-path`) put before it. Inside a mount the scope's root_path has grown by
    the mount's path; the app's own root is kept apart in app_root_path."""
    raw: bytes | None = scope.get("raw_path")
    path = raw.decode("latin-1") if raw is not None else scope["path"]
    root: str = scope.get("app_root_path", scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def v2_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The v2 route that answers (method, path), and its parameters; HEAD is taken by GET."""
    if method == "HEAD":
        method = "GET"
    route = _STATIC.get((method, path))
    if route is not None:
        return route, {}
    if "%" in path:  # /v2/cred%69ts is /v2/credits
        static = (r for r in _STATIC.values() if r.method == method)
        route = next((r for r in static if r.match(path) is not None), None)
        if route is not None:
            return route, {}
    for route in _DYNAMIC:
        if route.method == method:
            params = route.match(path)
            if params is not None:
                return route, params
    return None


def matching(path: str) -> list[Route]:
    return [route for route in ROUTES if route.match(path) is not None]


def _mounted(path: str) -> bool:
    """A file under one of the static mounts (the mount's own path is no file)."""
    return any(_under(path, mount) and path != mount for mount in (ASSETS, UI_ASSETS))


def allowed(path: str) -> list[str]:
    """Every method some route takes on this path, for a 405's Allow header."""
    if _mounted(path):
        return ["GET", "HEAD"]
    return sorted({method for route in matching(path) for method in route.methods})


def route_action(path: str, method: str | None = None) -> str:
    """The v2 route's own action name, for errors answered before any body was read: the
    route of this method where several share the path (GET and POST /v2/webhooks)."""
    if method is not None:
        found = v2_route(method, path)
        if found is not None:
            return found[0].name
    return next((r.name for r in V2_ROUTES if r.match(path) is not None), UNKNOWN_ACTION)


def label(path: str) -> str:
    """A low-cardinality name for metrics: the matched route's template."""
    for mount in (ASSETS, UI_ASSETS):
        if _under(path, mount) and path != mount:
            return mount
    return next((r.template for r in ROUTES if r.match(path) is not None), "unmatched")
