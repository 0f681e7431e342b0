"""The webhook routes' behaviour (SPEC 1.8): create, list, change, start and stop, secrets,
hosted events polled or streamed. Each checks the key first, as every v2 route, and answers in
the v2 envelope; all are free (monitoring is charged per emulated day, events.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from dataclasses import replace

import orjson

from linkup_emulator.clock import format_instant
from linkup_emulator.emulator import (
    Body,
    Emulator,
    Gate,
    Trace,
    _no_unknown_query,
    _query_int,
    _short,
)
from linkup_emulator.errors import (
    MSG_ACCOUNT_INACTIVE,
    MSG_INVALID_API_KEY,
    AccountInactive,
    InternalError,
    InvalidApiKey,
    InvalidParams,
    NotFound,
)
from linkup_emulator.logs import parse_when, within
from linkup_emulator.store import Account
from linkup_emulator.store.hooks import Webhook
from linkup_emulator.webhooks import subscriptions as subs
from linkup_emulator.webhooks.delivery import Dispatcher
from linkup_emulator.webhooks.events import RETENTION_S, Pipeline
from linkup_emulator.webhooks.signing import SCHEME

POLL_LIMIT_MAX = 200
POLL_DEFAULT = 50
STREAM_POLL_S = 0.25  # how often a stream looks for new events
KEEPALIVE_S = 30.0  # the vendor's keepalive period (WHST)


class Webhooks:
    def __init__(
        self, emulator: Emulator, pipeline: Pipeline, dispatcher: Dispatcher, hosts: list[str]
    ) -> None:
        self.emulator = emulator
        self.store = emulator.store
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.hosts = hosts

    # -- helpers ----------------------------------------------------------------------------

    async def _owned(self, found: Gate, trace: Trace, webhook_id: str) -> Webhook:
        for hook in await self.store.hooks(found.tenant.api_key):
            if hook.webhook_id == webhook_id:
                trace.account_id = hook.account_id
                return hook
        raise NotFound(f"no webhook of this api key has the id '{_short(webhook_id, 60)}'")

    async def _account(self, hook: Webhook) -> Account:
        account = await self.store.account(hook.account_id)
        if account is None:  # reset away meanwhile
            raise InvalidApiKey(MSG_INVALID_API_KEY)
        return account

    async def _settle(self, hook: Webhook, now: float) -> None:
        """After a change to the account's webhooks: events due so far swept (to the webhooks
        as they were), and monitoring started, charged or ended."""
        await self.pipeline.settle_account(await self._account(hook), now)

    async def _save(self, hook: Webhook) -> None:
        if not await self.store.hook_save(hook, create=False):
            raise NotFound(f"no webhook of this api key has the id '{hook.webhook_id}'")

    def _answer(self, data: object, trace: Trace, account_id: str | None) -> bytes:
        return self.emulator._success(orjson.dumps(data), trace, account_id)

    async def _gate(
        self,
        trace: Trace,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        takes: tuple[str, ...] = (),
    ) -> Gate:
        found = await self.emulator._gate(trace, headers)
        _no_unknown_query(query, trace.action, takes)
        return found

    # -- POST /v2/webhooks, GET /v2/webhooks ---------------------------------------------------

    async def create(
        self, trace: Trace, headers: Mapping[str, str], raw: bytes | None, query: Mapping[str, str]
    ) -> bytes:
        body = Body.parse(raw)
        account_id = body.field("account_id")
        if isinstance(account_id, str):
            trace.account_id = account_id
        found = await self._gate(trace, headers, query)
        if body.problem:
            raise InvalidParams(body.problem)
        if not isinstance(account_id, str) or not account_id:
            raise InvalidParams("account_id is required and must be a non-empty string")
        account = self.emulator._account(found, account_id)
        if account.status != "active":
            raise AccountInactive(MSG_ACCOUNT_INACTIVE.format(account_id=_short(account_id)))
        assert isinstance(body.value, dict)
        values: dict[str, object] = body.value
        subs.only(values, subs.CREATE_FIELDS, "POST /v2/webhooks")
        url = values.get("url")
        url = None if url is None else subs.check_url(url, self.hosts)
        events = subs.parse_events(values.get("events", ["all"]))
        signed = subs.flag(values, "enable_signature", False)
        retry = subs.flag(values, "retry", False)
        if url is None and (signed or retry):
            raise InvalidParams(
                "enable_signature and retry apply to webhooks with a url; a hosted webhook's"
                " events are read with your api key"
            )
        api_key, now, seed = found.tenant.api_key, found.now, self.emulator.policy.seed
        taken = {h.webhook_id for h in await self.store.hooks(None)}
        for n in range(1, len(taken) + 64):
            webhook_id = subs.webhook_id(seed, account_id, n)
            if webhook_id in taken:
                continue
            secret = subs.secret_of(seed, webhook_id, 1) if signed else None
            hook = Webhook(
                webhook_id, api_key, account_id, url, events, secret, retry, True, now, now,
                1 if signed else 0,
            )  # fmt: skip
            if await self.store.hook_save(hook, create=True):
                break
            if await self.store.tenant(api_key) is None:  # reset away meanwhile
                raise InvalidApiKey(MSG_INVALID_API_KEY)
        else:
            raise InternalError("no free webhook id: webhooks kept being created meanwhile")
        await self.pipeline.watch(api_key, account_id, now)
        await self._settle(hook, now)
        self.dispatcher.start()
        data = subs.view(hook)
        if secret is not None:
            data |= {"secret": secret, "signature_scheme": SCHEME}
        return self._answer(data, trace, account_id)

    async def list(
        self, trace: Trace, headers: Mapping[str, str], query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers, query, ("account_id",))
        account_id = query.get("account_id")
        hooks = [
            subs.view(h)
            for h in await self.store.hooks(found.tenant.api_key)
            if account_id is None or h.account_id == account_id
        ]
        return self._answer({"items": hooks, "total": len(hooks)}, trace, None)

    # -- /v2/webhooks/{webhook_id} -------------------------------------------------------------

    async def update(
        self,
        trace: Trace,
        headers: Mapping[str, str],
        webhook_id: str,
        raw: bytes | None,
        query: Mapping[str, str],
    ) -> bytes:
        body = Body.parse(raw)
        found = await self._gate(trace, headers, query)
        if body.problem:
            raise InvalidParams(body.problem)
        hook = await self._owned(found, trace, webhook_id)
        assert isinstance(body.value, dict)
        values: dict[str, object] = body.value
        subs.only(values, subs.UPDATE_FIELDS, "PUT /v2/webhooks/{webhook_id}")
        url = hook.url
        if "url" in values:
            given = values["url"]
            url = None if given is None else subs.check_url(given, self.hosts)
        events = subs.parse_events(values["events"]) if "events" in values else hook.events
        retry = subs.flag(values, "retry", hook.retry)
        active = subs.flag(values, "is_active", hook.is_active)
        if url is None and retry:
            raise InvalidParams("retry applies to webhooks with a url")
        await self._settle(hook, found.now)  # what was due goes out as things were
        secret = hook.secret if url is not None else None  # hosted events are unsigned
        changed = replace(
            hook, url=url, events=events, retry=retry, is_active=active, secret=secret,
            updated_at=found.now,
        )  # fmt: skip
        await self._save(changed)
        await self._settle(changed, found.now)
        return self._answer(subs.view(changed), trace, hook.account_id)

    async def delete(
        self, trace: Trace, headers: Mapping[str, str], webhook_id: str, query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers, query)
        hook = await self._owned(found, trace, webhook_id)
        await self._settle(hook, found.now)
        if not await self.store.hook_drop(found.tenant.api_key, webhook_id):
            raise NotFound(f"no webhook of this api key has the id '{webhook_id}'")
        await self._settle(hook, found.now)  # the last one: monitoring ends
        data = {"deleted": True, "webhook_id": webhook_id}
        return self._answer(data, trace, hook.account_id)

    async def toggle(
        self,
        trace: Trace,
        headers: Mapping[str, str],
        webhook_id: str,
        query: Mapping[str, str],
        active: bool,
    ) -> bytes:
        found = await self._gate(trace, headers, query)
        hook = await self._owned(found, trace, webhook_id)
        await self._settle(hook, found.now)  # a stopped webhook gets nothing of its pause
        changed = replace(hook, is_active=active, updated_at=found.now)
        await self._save(changed)
        await self._settle(changed, found.now)
        return self._answer(subs.view(changed), trace, hook.account_id)

    async def rotate_secret(
        self, trace: Trace, headers: Mapping[str, str], webhook_id: str, query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers, query)
        hook = await self._owned(found, trace, webhook_id)
        if hook.url is None:
            raise InvalidParams(
                "hosted webhooks are not signed; only a webhook with a url has a secret"
            )
        n = hook.rotations + 1
        secret = subs.secret_of(self.emulator.policy.seed, webhook_id, n)
        await self._save(replace(hook, secret=secret, rotations=n, updated_at=found.now))
        data = {"webhook_id": webhook_id, "secret": secret, "signature_scheme": SCHEME}
        return self._answer(data, trace, hook.account_id)

    async def delete_secret(
        self, trace: Trace, headers: Mapping[str, str], webhook_id: str, query: Mapping[str, str]
    ) -> bytes:
        found = await self._gate(trace, headers, query)
        hook = await self._owned(found, trace, webhook_id)
        await self._save(replace(hook, secret=None, updated_at=found.now))
        data = {"webhook_id": webhook_id, "signature_enabled": False}
        return self._answer(data, trace, hook.account_id)

    # -- hosted events ------------------------------------------------------------------------

    async def _hosted(self, found: Gate, trace: Trace, webhook_id: str) -> Webhook:
        hook = await self._owned(found, trace, webhook_id)
        if hook.url is not None:
            raise InvalidParams(
                "this webhook delivers its events to its url; only hosted webhooks (made"
                " without url) keep events to poll or stream"
            )
        await self._settle(hook, found.now)
        await self.store.hook_purge(found.tenant.api_key, found.now - RETENTION_S)
        return hook

    async def poll(
        self, trace: Trace, headers: Mapping[str, str], webhook_id: str, query: Mapping[str, str]
    ) -> bytes:
        takes = ("since", "until", "limit", "count", "after")
        found = await self._gate(trace, headers, query, takes)
        hook = await self._hosted(found, trace, webhook_id)
        # `count` is W6W's name for `limit`; given both, the smaller.
        limit = _query_int(query, "limit", POLL_LIMIT_MAX, 1, POLL_LIMIT_MAX)
        count = _query_int(query, "count", POLL_LIMIT_MAX, 1, POLL_LIMIT_MAX)
        count = min(limit, count) if "limit" in query or "count" in query else POLL_DEFAULT
        since, until = parse_when(query, "since"), parse_when(query, "until", end=True)
        kept = await self.store.hook_events(found.tenant.api_key, hook.webhook_id)
        ids = [e.event_id for e in kept]
        after = query.get("after")
        if after in ids:  # an id no longer kept (or never): everything kept is after it
            kept = kept[ids.index(after) + 1 :]
        chosen = [
            e for e in kept if within(e.created_at, format_instant(e.created_at), since, until)
        ]
        items = [
            {
                "event_id": e.event_id,
                "event": orjson.Fragment(e.body),
                "created_at": format_instant(e.created_at),
            }
            for e in chosen[:count]
        ]
        data = {"items": items, "has_more": len(chosen) > count}
        return self._answer(data, trace, hook.account_id)

    async def stream(
        self, trace: Trace, headers: Mapping[str, str], webhook_id: str, query: Mapping[str, str]
    ) -> AsyncGenerator[bytes, None]:
        """Checks first (an error is an envelope, before the stream starts), then the stream:
        `connected`, each new event as `webhook`, a keepalive comment when quiet."""
        keyed = {**headers, "x-api-key": query.get("api_key", headers.get("x-api-key", ""))}
        found = await self._gate(trace, keyed, query, ("api_key",))
        hook = await self._hosted(found, trace, webhook_id)
        api_key = found.tenant.api_key
        last = max((e.seq for e in await self.store.hook_events(api_key, webhook_id)), default=0)
        hello = {"webhook_id": webhook_id, "account_id": hook.account_id}
        return _events(self, api_key, webhook_id, last, orjson.dumps(hello))


async def _events(
    service: Webhooks, api_key: str, webhook_id: str, last: int, hello: bytes
) -> AsyncGenerator[bytes, None]:
    yield b"event: connected\ndata: " + hello + b"\n\n"
    quiet = 0.0
    while True:
        await asyncio.sleep(STREAM_POLL_S)
        fresh = [e for e in await service.store.hook_events(api_key, webhook_id) if e.seq > last]
        for event in fresh:
            last = event.seq
            yield (
                b"event: webhook\nid: "
                + event.event_id.encode()
                + b"\ndata: "
                + event.body
                + b"\n\n"
            )
        quiet = 0.0 if fresh else quiet + STREAM_POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield b": keepalive\n\n"
