"""The vendor's error codes as exceptions, and the envelope every error is answered in."""

from __future__ import annotations

from typing import ClassVar

MSG_INVALID_API_KEY = "The provided API key is invalid or missing"
MSG_INVALID_ACCOUNT = "Account '{account_id}' was not found for this API key"
MSG_ACCOUNT_INACTIVE = "Account '{account_id}' is inactive; reactivate it to use it"
MSG_INVALID_ACTION = "Action '{action}' is not supported on /v2/network; supported: {supported}"
MSG_RATE_LIMITED = "Rate limit of {limit} requests per minute exceeded; retry in {retry_after} s"
MSG_INSUFFICIENT_CREDITS = "This call costs {cost} {credits} but the balance is {balance}"
MSG_INTERNAL_ERROR = "An unexpected error occurred"
MSG_NOT_FOUND = "No route matches {method} {path}"
MSG_METHOD_NOT_ALLOWED = "Method {method} is not allowed on {path}"
MSG_INJECTED = "Error injected by the emulator ({source})"


class CodedError(Exception):
    """An error with a code, its HTTP status, a message and extra headers; its family decides
    the body's shape (ApiError: the vendor's envelope; control.ControlError: plain JSON)."""

    code: ClassVar[str]
    status: ClassVar[int]

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class ApiError(CodedError):
    """An error answered in the vendor's envelope with its code's HTTP status."""

    code = "INTERNAL_ERROR"
    status = 500


class InvalidApiKey(ApiError):
    code = "INVALID_API_KEY"
    status = 403


class InvalidAccount(ApiError):
    code = "INVALID_ACCOUNT"
    status = 404


class AccountInactive(ApiError):
    code = "ACCOUNT_INACTIVE"
    status = 403


class InvalidAction(ApiError):
    code = "INVALID_ACTION"
    status = 400


class InvalidParams(ApiError):
    code = "INVALID_PARAMS"
    status = 400


class RateLimited(ApiError):
    code = "RATE_LIMITED"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class InsufficientCredits(ApiError):
    code = "INSUFFICIENT_CREDITS"
    status = 402


class InternalError(ApiError):
    code = "INTERNAL_ERROR"
    status = 500


class NotFound(ApiError):
    code = "NOT_FOUND"
    status = 404


class MethodNotAllowed(ApiError):
    code = "METHOD_NOT_ALLOWED"
    status = 405


# The codes a client may force with X-Emulator-Error or a fault rule: the vendor's documented ones.
FORCIBLE: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        InvalidApiKey,
        InvalidAccount,
        AccountInactive,
        InvalidAction,
        InvalidParams,
        RateLimited,
        InsufficientCredits,
        InternalError,
    )
}


def injected(code: str, source: str) -> ApiError:
    """An error of a forcible `code`, asked for by the client (it costs nothing)."""
    cls = FORCIBLE[code]
    message = MSG_INJECTED.format(source=source)
    return RateLimited(message, retry_after=1) if cls is RateLimited else cls(message)
