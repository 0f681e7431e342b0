"""The hand-written contract (/openapi.yaml, .json), offline Swagger UI (/docs), /metrics."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastapi_offline
import orjson
import yaml
from fastapi import Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from linkup_emulator.resources import OPENAPI_PATH


class Assets(StaticFiles):
    """Static files answered whole: a Range header is ignored (as HTTP allows), so Starlette's
    own text/plain 400/416 for a bad range never reach a client."""

    methods = frozenset({"GET", "HEAD"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        await super().__call__({**scope, "headers": headers}, receive, send)


# Swagger UI 5 (OpenAPI 3.1 capable), shipped inside the fastapi-offline wheel: no CDN.
SWAGGER_ASSETS = Assets(directory=Path(fastapi_offline.__file__).parent / "static")


@cache
def _spec_yaml() -> bytes:
    return OPENAPI_PATH.read_bytes()


@cache
def _spec_json() -> bytes:
    return orjson.dumps(yaml.safe_load(_spec_yaml()))


async def openapi_yaml() -> Response:
    return Response(_spec_yaml(), media_type="application/yaml")


async def openapi_json() -> Response:
    return Response(_spec_json(), media_type="application/json")


async def docs() -> Response:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="linkup-emulator",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type)


ENDPOINTS: dict[str, Callable[..., Any]] = {
    "openapi_yaml": openapi_yaml,
    "openapi_json": openapi_json,
    "docs": docs,
    "metrics": metrics,
}
