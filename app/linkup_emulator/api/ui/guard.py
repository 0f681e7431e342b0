"""The dashboard's two guards: the admin token's session cookie, and the forms' CSRF token.

Both cookies are HttpOnly and SameSite=Strict, scoped to the dashboard's path: a page of
another site can neither read them nor have the browser send them with its own POST.

- Session: with EMULATOR_ADMIN_TOKEN set, the login form takes the token once; the cookie then
  holds an HMAC of a fixed text keyed with the token (never the token itself). Every worker and
  replica computes the same value, so no session store is needed, and changing the token signs
  every browser out.
- CSRF: a double-submit token. A page sets a random cookie when the browser has none and puts
  the same value in every form; a POST whose field does not equal the cookie is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from linkup_emulator.api import paths
from linkup_emulator.control import ControlError, Unauthorized

SESSION_COOKIE = "linkup_ui_session"
CSRF_COOKIE = "linkup_ui_csrf"
CSRF_FIELD = "csrf_token"
_SESSION_TEXT = b"linkup-emulator dashboard session v1"
MAX_FIELDS = 40  # the largest form has 9; more is not one of ours


class Forbidden(ControlError):
    code = "FORBIDDEN"
    status = 403


MSG_CSRF = (
    "This form's security token is missing or does not match this browser's: reload the page"
    " and send the form again."
)
MSG_LOGIN = "Sign in with the emulator's admin token first."


def _token(request: Request) -> bytes | None:
    token: bytes | None = request.app.state.admin_token
    return token


def session_value(token: bytes) -> str:
    return hmac.new(token, _SESSION_TEXT, hashlib.sha256).hexdigest()


def needs_login(request: Request) -> bool:
    """Whether an admin token is set and this browser has not signed in with it."""
    token = _token(request)
    if token is None:
        return False
    given = request.cookies.get(SESSION_COOKIE, "")
    return not hmac.compare_digest(given.encode(), session_value(token).encode())


def login_required(request: Request) -> bool:
    return _token(request) is not None


def check_token(request: Request, given: str) -> bool:
    token = _token(request)
    return token is not None and hmac.compare_digest(given.strip().encode(), token)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(request: Request, response: Response) -> None:
    token = _token(request)
    assert token is not None
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token),
        path=paths.UI,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=paths.UI, httponly=True, samesite="strict", secure=_secure(request)
    )


def csrf_token(request: Request) -> str:
    """This browser's token (a new one when it has none; a page sets it with keep_csrf)."""
    found = request.cookies.get(CSRF_COOKIE, "")
    if len(found) == 43 and found.isascii():
        return found
    fresh: str | None = getattr(request.state, "csrf", None)
    if fresh is None:
        fresh = request.state.csrf = secrets.token_urlsafe(32)  # 43 characters
    return fresh


def keep_csrf(request: Request, response: Response) -> None:
    """Set the cookie of a token made for this page, if one was."""
    fresh: str | None = getattr(request.state, "csrf", None)
    if fresh is not None:
        response.set_cookie(
            CSRF_COOKIE,
            fresh,
            path=paths.UI,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )


def parse_form(request: Request, raw: bytes | None) -> dict[str, str]:
    """An urlencoded form (the browser's default), then its CSRF check: a field equal to the
    cookie. Anything else is refused before the form does anything."""
    if raw is None:
        raise ControlError("the form is too large")
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ControlError("send the form as application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise ControlError("the form could not be read") from error
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)  # the first of a repeated field, as for headers
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.pop(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(given.encode(), cookie.encode()):
        raise Forbidden(MSG_CSRF)
    return form


def require_session(request: Request) -> None:
    """A form or the live tail of a browser not signed in: 401 (pages redirect instead)."""
    if needs_login(request):
        raise Unauthorized(MSG_LOGIN)
