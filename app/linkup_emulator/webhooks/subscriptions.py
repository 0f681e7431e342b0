"""What a webhook is on the wire: its ids and secrets, the bodies that create and change it,
which hosts it may target, and how GET /v2/webhooks shows it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from linkup_emulator import envelope
from linkup_emulator.errors import InvalidParams
from linkup_emulator.store.hooks import Webhook

# The vendor's event names (its create page and the webhooks introduction); the emulator emits
# accepted_invitation and invitation_received, and takes the others as subscriptions.
EVENT_TYPES = (
    "all",
    "accepted_invitation",
    "invitation_received",
    "message_received",
    "message_read",
    "message_delivered",
    "message_failed",
    "email_bounced",
    "disconnection",
)
CREATE_FIELDS = ("account_id", "url", "events", "enable_signature", "retry")
UPDATE_FIELDS = ("url", "events", "retry", "is_active")
URL_MAX = 2048


def webhook_id(seed: str, account_id: str, n: int) -> str:
    """24 hex characters, as the vendor's ids; the n-th webhook of the account, so a reset and
    the same calls give the same ids."""
    text = f"webhook\x00{seed}\x00{account_id}\x00{n}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def secret_of(seed: str, webhook_id: str, n: int) -> str:
    # Vendor docs are silent on the secret's form; ours is 64 hex, the n-th of the webhook.
    text = f"webhook-secret\x00{seed}\x00{webhook_id}\x00{n}"
    return hashlib.sha256(text.encode()).hexdigest()


def host_allowed(url: str, hosts: Sequence[str]) -> bool:
    host = urlsplit(url).hostname or ""
    return "*" in hosts or host in hosts


def check_url(value: object, hosts: Sequence[str]) -> str:
    """An http(s) URL whose host EMULATOR_WEBHOOK_HOSTS lists (names or addresses, compared
    literally); checked here, before any connection is made."""
    if not isinstance(value, str) or not value:
        raise InvalidParams("url must be a non-empty string (omit it for a hosted webhook)")
    if len(value) > URL_MAX:
        raise InvalidParams(f"url is longer than {URL_MAX} characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidParams("url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParams("url must be an http:// or https:// URL with a host")
    if not host_allowed(value, hosts):
        raise InvalidParams(
            f"url host '{parts.hostname[:80]}' is not allowed: this emulator delivers only to"
            f" {', '.join(hosts)} (EMULATOR_WEBHOOK_HOSTS)"
        )
    return value


def parse_events(value: object) -> tuple[str, ...]:
    """A list of event names, or one name as a bare string (W6W sends one so)."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidParams("events must be a non-empty array of event names (or one name)")
    for name in names:
        if name not in EVENT_TYPES:
            raise InvalidParams(
                f"events: '{name[:60]}' is not an event type; use: {', '.join(EVENT_TYPES)}"
            )
    return tuple(dict.fromkeys(names))


def flag(body: dict[str, object], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidParams(f"{name} must be true or false")
    return value


def only(body: dict[str, object], fields: tuple[str, ...], route: str) -> None:
    for key in body:
        if key not in fields:
            raise InvalidParams(
                f"{str(key)[:60]} is not a field of {route}; it takes: {', '.join(fields)}"
            )


def subscribes(hook: Webhook, kind: str) -> bool:
    return "all" in hook.events or kind in hook.events


def view(hook: Webhook) -> dict[str, object]:
    """A webhook as the routes show it: never its secret (only create and rotate-secret do)."""
    return {
        "webhook_id": hook.webhook_id,
        "account_id": hook.account_id,
        "url": hook.url,
        "mode": "hosted" if hook.url is None else "custom",
        "events": list(hook.events),
        "signature_enabled": hook.secret is not None,
        "retry": hook.retry,
        "is_active": hook.is_active,
        "created_at": envelope.stamp(hook.created_at),
        "updated_at": envelope.stamp(hook.updated_at),
    }
