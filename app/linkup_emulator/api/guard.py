"""Who may talk to the server at all: the Host names it serves (against DNS rebinding), and
which control-plane writes it takes from a browser (against cross-site requests).

- A request whose Host is not served (EMULATOR_ALLOWED_HOSTS, the bound host, any IP
  address) is answered 400 INVALID_PARAMS in the path's shape. A rebinding page reaches the
  server under the attacker's own name, never under an address or a loopback name.
- A state-changing control-plane request (POST, PUT, PATCH, DELETE under /_emulator) from
  another origin is refused 403 FORBIDDEN: one whose `Sec-Fetch-Site` is neither
  `same-origin` nor `none`, or whose `Origin` is not the Host it was sent to (nor an origin
  listed in EMULATOR_CORS_ORIGINS). Clients that are not browsers send neither header.
- Such a request with a body must say `Content-Type: application/json` (415
  UNSUPPORTED_MEDIA_TYPE otherwise; no content type at all is taken as JSON): a page can
  send text/plain and forms to any origin without asking, never JSON. The dashboard's own
  pages under /_emulator/ui post forms; they are same-origin and carry their own CSRF token,
  so only the origin rule applies there.

Starlette's TrustedHostMiddleware does the Host part but answers in text/plain, and a
wildcard for "any IP address" is not among its patterns; this one answers in the envelope.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from linkup_emulator.api.errors import body_for_path
from linkup_emulator.api.paths import CONTROL, is_control, local
from linkup_emulator.clock import Clock

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UI = CONTROL + "/ui"
SAME_SITE = frozenset({"same-origin", "none"})  # "none": typed in the address bar, a bookmark
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def _split_host(value: str) -> tuple[str, int | None]:
    """A Host header's name (lowercase, IPv6 brackets dropped) and port."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        name, sep, port = value.rpartition(":")
        if not sep:
            name, port = value, ""
    return name.rstrip("."), int(port) if port.isdigit() and len(port) <= 5 else None


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The Host names served: exact ones, '*.suffix' patterns, '*' for any; IP addresses
    always (a rebinding attack can't make a browser send one)."""

    def __init__(self, allowed: Iterable[str], bound_host: str) -> None:
        names = {name.strip().lower().rstrip(".") for name in allowed if name.strip()}
        if bound_host.lower() not in WILDCARD_BINDS:
            names.add(bound_host.lower().strip("[]"))
        self.any = "*" in names
        self.exact = frozenset(n for n in names if not n.startswith("*."))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))

    def serves(self, host: str) -> bool:
        if self.any:
            return True
        name, _ = _split_host(host)
        if name in self.exact or _is_address(name):
            return True
        return any(name.endswith(suffix) and name != suffix[1:] for suffix in self.suffixes)


def _same_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether `Origin` names the scheme, host and port the request was sent to."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return False  # "null" (a sandboxed frame, a file), or nonsense
    default = 443 if parts.scheme == "https" else 80
    name, port = _split_host(host)
    request_default = 443 if scheme == "https" else 80
    return parts.hostname.lower().rstrip(".") == name and (origin_port or default) == (
        port or request_default
    )


def _json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class RequestGuard:
    """Pure ASGI, before the routes: the Host, then the control plane's cross-site rule."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        clock: Clock,
        hosts: HostPolicy,
        trusted_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.clock = clock
        self.hosts = hosts
        self.trusted = frozenset(o.rstrip("/").lower() for o in trusted_origins if o != "*")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)  # the first, as everywhere else
        host = headers.get(b"host", b"").decode("latin-1")
        path = local(scope)
        if not self.hosts.serves(host):
            shown = host[:100] or "(none)"
            message = f"Host {shown} is not served here; add it to EMULATOR_ALLOWED_HOSTS"
            await self._refuse(scope, receive, send, path, 400, "INVALID_PARAMS", message)
            return
        if scope["method"] in WRITES and is_control(path):
            refusal = self._cross_site(scope, headers, host, path)
            if refusal is not None:
                await self._refuse(scope, receive, send, path, *refusal)
                return
        await self.app(scope, receive, send)

    def _cross_site(
        self, scope: Scope, headers: dict[bytes, bytes], host: str, path: str
    ) -> tuple[int, str, str] | None:
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
        trusted = bool(origin) and origin.rstrip("/").lower() in self.trusted
        if not trusted and (
            (site and site not in SAME_SITE)
            or (origin and not _same_origin(origin, host, scope.get("scheme", "http")))
        ):
            return (
                403,
                "FORBIDDEN",
                f"cross-site {scope['method']} refused: the control plane takes writes from"
                " its own origin (or one in EMULATOR_CORS_ORIGINS) and from clients that"
                " are not browsers",
            )
        if path == UI or path.startswith(UI + "/"):
            return None  # the dashboard's forms: same-origin, with their own CSRF token
        has_body = headers.get(b"content-length", b"0") not in (b"0", b"") or (
            b"transfer-encoding" in headers
        )
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if has_body and content_type and not _json(content_type):
            return (
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                f"Content-Type {content_type[:60]} is not taken: send a JSON body with"
                " Content-Type: application/json",
            )
        return None

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        status: int,
        code: str,
        message: str,
    ) -> None:
        scope.setdefault("state", {})["code"] = code
        body = body_for_path(path, code, message, now=self.clock.now())
        await Response(body, status, media_type="application/json")(scope, receive, send)
