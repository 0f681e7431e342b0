"""Logs, metrics, request ids, offline docs and CORS."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import yaml
from starlette.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.observability.logging import JsonFormatter
from linkup_emulator.observability.metrics import tenant_label
from linkup_emulator.resources import OPENAPI_PATH
from linkup_emulator.settings import Settings
from tests.support.http import assert_error, balance, recommend
from tests.support.openapi import validate_response


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("linkup_emulator")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_one_json_log_line_per_request_with_the_key_masked(
    client: TestClient, log_lines: io.StringIO
) -> None:
    logging.getLogger("linkup_emulator").setLevel("INFO")
    response = recommend(client, count=15)
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert (line["method"], line["path"]) == ("POST", "/v2/network")
    assert (line["status"], line["code"], line["credits"]) == (200, None, 2)
    assert (line["account_id"], line["action"]) == ("acc_demo", "recommendations")
    assert line["api_key"] == "****_key"
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["ms"], float)
    assert "demo_key" not in log_lines.getvalue()


def test_an_unexpected_error_logs_its_traceback(
    client: TestClient, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(client.app.state.emulator.generator, "pool", explode)  # type: ignore[attr-defined]
    assert recommend(client).status_code == 500
    error = next(json.loads(x) for x in log_lines.getvalue().splitlines() if "traceback" in x)
    assert "RuntimeError: boom" in error["traceback"]


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_credits_latency_and_faults(client: TestClient) -> None:
    recommend(client, count=20)
    recommend(client, count=5)
    recommend(client, "acc_nope")
    recommend(client, headers={"X-Emulator-Error": "RATE_LIMITED"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "emulator_requests_total", route="/v2/network", status="200") == 2
    assert _metric(text, "emulator_requests_total", status="404", code="INVALID_ACCOUNT") == 1
    assert _metric(text, "emulator_credits_consumed_total", tenant=tenant_label("demo_key")) == 3
    assert _metric(text, "emulator_injected_faults_total", code="RATE_LIMITED") == 1
    assert _metric(text, "emulator_request_duration_seconds_count", route="/v2/network") == 4
    assert "demo_key" not in text


def test_two_keys_that_mask_alike_keep_their_credits_apart(client: TestClient) -> None:
    """demo_key and other_key both mask to ****_key; the label tells them apart."""
    recommend(client, count=20)
    recommend(client, "acc_other", key="other_key", count=30)
    text = client.get("/metrics").text
    assert tenant_label("demo_key").startswith("****_key#")
    assert tenant_label("demo_key") != tenant_label("other_key")
    assert _metric(text, "emulator_credits_consumed_total", tenant=tenant_label("demo_key")) == 2
    assert _metric(text, "emulator_credits_consumed_total", tenant=tenant_label("other_key")) == 3
    assert "other_key" not in text
    # With an admin token the hash is keyed with it: /metrics alone can't confirm a guessed key.
    assert tenant_label("demo_key", b"token") != tenant_label("demo_key")
    with TestClient(create_app(Settings(admin_token="token", log_level="warning"))) as guarded:
        recommend(guarded, count=10)
        text = guarded.get("/metrics").text
    assert _metric(text, "emulator_credits_consumed_total", tenant=tenant_label("demo_key")) == 0
    assert (
        _metric(text, "emulator_credits_consumed_total", tenant=tenant_label("demo_key", b"token"))
        == 1
    )


def test_every_response_carries_request_id_and_version(client: TestClient) -> None:
    for response in (
        recommend(client),
        client.get("/nope"),
        client.get("/_emulator/health"),
        client.get("/metrics"),
        client.get("/openapi.json"),
    ):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        assert response.headers["x-emulator-version"]


def test_served_contract_is_the_hand_written_file(client: TestClient) -> None:
    assert client.get("/openapi.yaml").content == OPENAPI_PATH.read_bytes()
    assert client.get("/openapi.json").json() == yaml.safe_load(OPENAPI_PATH.read_text())


def test_docs_load_nothing_from_another_host(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls, "the page references its assets"
    for url in urls:
        assert url.startswith("/"), f"external reference: {url}"
        assert client.get(url).status_code == 200, url
    assert "cdn" not in page.text.lower()


def test_cors_is_off_by_default_and_configurable() -> None:
    preflight = {
        "origin": "http://demo.local",
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key,content-type",
    }
    with TestClient(create_app(Settings(log_level="warning"))) as client:
        assert (
            "access-control-allow-origin"
            not in client.options("/v2/network", headers=preflight).headers
        )
    settings = Settings(cors_origins="http://demo.local", log_level="warning")
    with TestClient(create_app(settings)) as client:
        response = client.options("/v2/network", headers=preflight)
        assert response.status_code == 204
        assert response.content == b""
        assert response.headers["access-control-allow-origin"] == "http://demo.local"
        assert response.headers["x-request-id"]
        answer = recommend(client, headers={"origin": "http://demo.local"})
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        # A refused preflight is an error like any other: the envelope, and nothing billed.
        before = balance(client)
        refused = client.options("/v2/network", headers={**preflight, "origin": "http://evil"})
        body = assert_error(refused, 400, "INVALID_PARAMS", "network")
        assert body["error"]["message"] == "CORS preflight refused: origin not allowed"
        assert "access-control-allow-origin" not in refused.headers
        validate_response("post", "/v2/network", 400, body)
        assert balance(client) == before
        # On the control plane, in the control plane's shape.
        refused = client.options("/_emulator/faults", headers={**preflight, "origin": "http://x"})
        assert refused.status_code == 400
        assert refused.json() == {
            "error": {
                "code": "INVALID_PARAMS",
                "message": "CORS preflight refused: origin not allowed",
            }
        }


def test_the_servers_own_handler_gets_the_same_line(client: TestClient) -> None:
    """The fast path (our batched handler alone) writes what the record path writes."""
    from linkup_emulator.observability.logging import BatchedStreamHandler, log

    logging.getLogger("linkup_emulator").setLevel("INFO")
    ours = next(h for h in log.handlers if isinstance(h, BatchedStreamHandler))
    stream, previous = io.StringIO(), ours.stream
    ours.setStream(stream)
    try:
        response = recommend(client, count=15)
        ours.flush()
    finally:
        ours.setStream(previous)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line == {
        "time": line["time"],
        "level": "info",
        "logger": "linkup_emulator.access",
        "message": "request",
        "request_id": response.headers["x-request-id"],
        "method": "POST",
        "path": "/v2/network",
        "status": 200,
        "code": None,
        "api_key": "****_key",
        "account_id": "acc_demo",
        "action": "recommendations",
        "credits": 2,
        "injected": False,
        "ms": line["ms"],
    }
