"""The hand-written contract (/openapi.yaml, .json), offline Swagger UI (/docs), /metrics."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
import orjson
import yaml
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from app.resources import OPENAPI_PATH

router = APIRouter(include_in_schema=False)

# Swagger UI 5 (OpenAPI 3.1 capable), shipped inside the fastapi-offline wheel: no CDN.
SWAGGER_ASSETS = StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")


@cache
def _spec_yaml() -> bytes:
    return OPENAPI_PATH.read_bytes()


@cache
def _spec_json() -> bytes:
    return orjson.dumps(yaml.safe_load(_spec_yaml()))


@router.get("/openapi.yaml")
async def openapi_yaml() -> Response:
    return Response(_spec_yaml(), media_type="application/yaml")


@router.get("/openapi.json")
async def openapi_json() -> Response:
    return Response(_spec_json(), media_type="application/json")


@router.get("/docs")
async def docs() -> Response:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="linkup-emulator",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.exposition()
    return Response(body, media_type=content_type)
