"""Shared fixtures: one fresh app per test, built from explicit settings (no env juggling)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.settings import Settings
from tests.support.openapi import validate_response

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(autouse=True)
def _no_emulator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read EMULATOR_*; a developer's shell must not change what a test sees."""
    import os

    for name in list(os.environ):
        if name.startswith("EMULATOR_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings() -> Settings:
    return Settings(seed="test-seed", log_level="warning")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def network(
    client: TestClient | httpx.Client,
    body: Any = None,
    *,
    key: str | None = "demo_key",
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        sent["x-api-key"] = key
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return client.post("/v2/network", content=content, headers=sent)


def recommend(
    client: TestClient | httpx.Client, account: str = "acc_demo", count: int | None = 10, **kw: Any
) -> httpx.Response:
    params = {} if count is None else {"count": count}
    return network(
        client, {"account_id": account, "action": "recommendations", "params": params}, **kw
    )


def assert_error(response: httpx.Response, status: int, code: str, action: str) -> dict[str, Any]:
    """The exact error envelope, checked against openapi.yaml too."""
    body: dict[str, Any] = response.json()
    assert response.status_code == status, body
    assert body == {
        "success": False,
        "error": {"code": code, "message": body["error"]["message"]},
        "metadata": {
            "action": action,
            "credits_consumed": 0,
            "timestamp": body["metadata"]["timestamp"],
        },
    }
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert TIMESTAMP.match(body["metadata"]["timestamp"])
    assert response.headers["content-type"] == "application/json"
    return body


def balance(client: TestClient | httpx.Client, key: str = "demo_key") -> int | None:
    value: int | None = client.get("/v2/credits", headers={"x-api-key": key}).json()["data"][
        "credits"
    ]
    return value


__all__ = ["assert_error", "balance", "network", "recommend", "validate_response"]
