"""Naming a member: the URL and identifier forms an action takes, read down to a vanity."""

from __future__ import annotations

import re
from urllib.parse import unquote

from linkup_emulator.errors import InvalidParams

PROFILE_URL = "https://www.linkedin.com/in/"
# http(s)://(www.)linkedin.com/in/<vanity>, any case, with or without a trailing slash, a
# query or a fragment.
_URL = re.compile(
    r"https?://(?:www\.)?linkedin\.com/in/(?P<vanity>[^/?#]+)/?(?:[?#].*)?", re.IGNORECASE
)
# LinkedIn's custom URLs: 3-100 letters or digits (any script), hyphens and underscores.
_VANITY = re.compile(r"[^\W_](?:[\w-]{1,98})[^\W_]|[^\W_][\w-]?[^\W_]")
URL_FORM = "https://www.linkedin.com/in/<vanity>"


def vanity_of_url(field: str, value: object) -> str:
    """The vanity a profile URL names, lower-cased (LinkedIn's are case-insensitive)."""
    if not isinstance(value, str):
        raise InvalidParams(f"params.{field} must be a string such as {URL_FORM}")
    found = _URL.fullmatch(value.strip())
    if found is None:
        raise InvalidParams(f"params.{field} must be a LinkedIn profile URL: {URL_FORM}")
    return _vanity(field, unquote(found.group("vanity")))


def vanity_of_identifier(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParams(f"params.{field} must be a string: a profile's vanity name")
    return _vanity(field, value.strip())


def _vanity(field: str, text: str) -> str:
    if not _VANITY.fullmatch(text):
        raise InvalidParams(
            f"params.{field} does not name a profile: a vanity is 3-100 letters, digits,"
            " hyphens or underscores, as in " + URL_FORM
        )
    return text.lower()


def named(params: dict[str, object], urls: tuple[str, ...], identifier: str | None) -> str:
    """The member `params` names: the first of its URL fields, else the identifier (the vendor:
    "identifier: required if profile_url is not provided"). Every field given must be well
    formed, the ones that lose too."""
    found: list[str] = []
    for field in urls:
        if field in params:
            found.append(vanity_of_url(field, params[field]))
    if identifier is not None and identifier in params:
        found.append(vanity_of_identifier(identifier, params[identifier]))
    if not found:
        need = " or ".join((*urls, identifier) if identifier else urls)
        raise InvalidParams(f"Missing required parameter: {need}")
    return found[0]
