"""Strict readers of the params the network actions share (SPEC 1.7): counts, offsets, flags."""

from __future__ import annotations

from linkup_emulator.errors import InvalidParams

DEFAULT_COUNT = 10  # the vendor's clients document 10 for every list
MAX_COUNT = 1000
MAX_OFFSET = 1_000_000_000
INVITATION_TYPES = ("CONNECTION", "ORGANIZATION", "EVENT", "CONTENT_SERIES")


def whole(params: dict[str, object], name: str, default: int, low: int, high: int) -> int:
    """An integer param: null, bools, floats and numeric strings are client bugs."""
    value = params.get(name, default)
    if type(value) is not int or not low <= value <= high:
        raise InvalidParams(f"params.{name} must be an integer from {low} to {high}")
    return value


def flag(params: dict[str, object], name: str) -> bool:
    value = params.get(name, False)
    if type(value) is not bool:
        raise InvalidParams(f"params.{name} must be true or false")
    return value


def invitation_type(params: dict[str, object], default: str | None) -> str | None:
    value = params.get("invitation_type", default)
    if value is None and default is None and "invitation_type" not in params:
        return None
    if value not in INVITATION_TYPES:
        raise InvalidParams(f"params.invitation_type must be one of {', '.join(INVITATION_TYPES)}")
    assert isinstance(value, str)
    return value


def text(params: dict[str, object], name: str) -> str | None:
    value = params.get(name)
    if value is None and name not in params:
        return None
    if not isinstance(value, str):
        raise InvalidParams(f"params.{name} must be a string")
    return value


def required_text(params: dict[str, object], name: str) -> str:
    if name not in params:
        raise InvalidParams(f"Missing required parameter: {name}")
    value = text(params, name)
    assert value is not None
    return value
