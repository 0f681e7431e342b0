"""The webhook routes (/v2/webhooks…) and GET /v2/logs, answered by the v2 fast path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from linkup_emulator.api.deps import emulator_of, read_body, trace
from linkup_emulator.api.errors import JSON
from linkup_emulator.logs import list_logs
from linkup_emulator.webhooks.service import Webhooks

STREAM = "text/event-stream"


def webhooks_of(request: Request) -> Webhooks:
    service: Webhooks = request.app.state.webhooks
    return service


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params) if request.scope.get("query_string") else {}


def _id(request: Request) -> str:
    webhook_id: str = request.path_params["webhook_id"]  # percent-decoded (paths.Route.match)
    return webhook_id


async def create_webhook(request: Request) -> Response:
    raw = await read_body(request)
    found = trace(request)
    body = await webhooks_of(request).create(found, request.headers, raw, _query(request))
    return Response(body, media_type=JSON)


async def list_webhooks(request: Request) -> Response:
    found = trace(request)
    body = await webhooks_of(request).list(found, request.headers, _query(request))
    return Response(body, media_type=JSON)


async def update_webhook(request: Request) -> Response:
    raw = await read_body(request)
    found = trace(request)
    service = webhooks_of(request)
    body = await service.update(found, request.headers, _id(request), raw, _query(request))
    return Response(body, media_type=JSON)


async def delete_webhook(request: Request) -> Response:
    found = trace(request)
    body = await webhooks_of(request).delete(found, request.headers, _id(request), _query(request))
    return Response(body, media_type=JSON)


async def start_webhook(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    body = await service.toggle(found, request.headers, _id(request), _query(request), True)
    return Response(body, media_type=JSON)


async def stop_webhook(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    body = await service.toggle(found, request.headers, _id(request), _query(request), False)
    return Response(body, media_type=JSON)


async def rotate_webhook_secret(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    body = await service.rotate_secret(found, request.headers, _id(request), _query(request))
    return Response(body, media_type=JSON)


async def delete_webhook_secret(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    body = await service.delete_secret(found, request.headers, _id(request), _query(request))
    return Response(body, media_type=JSON)


async def poll_webhook_events(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    body = await service.poll(found, request.headers, _id(request), _query(request))
    return Response(body, media_type=JSON)


async def stream_webhook_events(request: Request) -> Response:
    found, service = trace(request), webhooks_of(request)
    events = await service.stream(found, request.headers, _id(request), _query(request))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if request.method == "HEAD":  # the stream's status and headers; a body never ends
        await events.aclose()
        return Response(media_type=STREAM, headers=headers)
    return StreamingResponse(events, media_type=STREAM, headers=headers)


async def logs(request: Request) -> Response:
    found = trace(request)
    body = await list_logs(emulator_of(request), found, request.headers, _query(request))
    return Response(body, media_type=JSON)


ENDPOINTS: dict[str, Callable[[Request], Awaitable[Response]]] = {
    "create_webhook": create_webhook,
    "list_webhooks": list_webhooks,
    "update_webhook": update_webhook,
    "delete_webhook": delete_webhook,
    "start_webhook": start_webhook,
    "stop_webhook": stop_webhook,
    "rotate_webhook_secret": rotate_webhook_secret,
    "delete_webhook_secret": delete_webhook_secret,
    "poll_webhook_events": poll_webhook_events,
    "stream_webhook_events": stream_webhook_events,
    "list_logs": logs,
}
