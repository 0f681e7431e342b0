"""HTTP helpers shared by the tests: v2 calls and the exact error envelope."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import httpx2
from starlette.testclient import TestClient

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# starlette's TestClient is an httpx2 client; live servers are reached with httpx.
Client = TestClient | httpx.Client
Response = httpx.Response | httpx2.Response


def network(
    client: Client,
    body: Any = None,
    *,
    key: str | None = "demo_key",
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    sent = {"content-type": "application/json", **(headers or {})}
    if key is not None:
        sent["x-api-key"] = key
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return client.post("/v2/network", content=content, headers=sent)


def recommend(
    client: Client, account: str = "acc_demo", count: int | None = 10, **kw: Any
) -> Response:
    params = {} if count is None else {"count": count}
    return network(
        client, {"account_id": account, "action": "recommendations", "params": params}, **kw
    )


def assert_error(response: Response, status: int, code: str, action: str) -> dict[str, Any]:
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


def balance(client: Client, key: str = "demo_key") -> int | None:
    value: int | None = client.get("/v2/credits", headers={"x-api-key": key}).json()["data"][
        "credits"
    ]
    return value
