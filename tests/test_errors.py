"""The error table (README, "The emulated contract"): every row input can cause, its check
order, and hostile input."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from linkup_emulator.main import create_app
from linkup_emulator.pytest_plugin import LiveServer
from linkup_emulator.server import MALFORMED
from linkup_emulator.settings import Settings
from tests.support.http import assert_error, balance, network
from tests.support.openapi import validate_response

OK = {"account_id": "acc_demo", "action": "recommendations", "params": {"count": 10}}


def body(**changes: Any) -> dict[str, Any]:
    result = {**OK, **changes}
    return {k: v for k, v in result.items() if v is not ...}


def params(value: Any) -> dict[str, Any]:
    return body(params=value)


# (id, json body or raw bytes, api key, extra headers, status, code, metadata.action,
#  text the message must hold)
CASES: list[tuple[str, Any, str | None, dict[str, str], int, str, str, str]] = [
    # 1: the key
    ("key-missing", OK, None, {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    ("key-empty", OK, "", {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    ("key-whitespace", OK, "   ", {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    ("key-unknown", OK, "nope", {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    ("key-wrong-case", OK, "DEMO_KEY", {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    ("key-padded", OK, " demo_key", {}, 403, "INVALID_API_KEY", "recommendations", "API key"),
    # 1 beats every later check
    (
        "order-key-before-body",
        b"{not json",
        "nope",
        {},
        403,
        "INVALID_API_KEY",
        "network",
        "API key",
    ),
    (
        "order-key-before-action",
        body(action="connect"),
        "nope",
        {},
        403,
        "INVALID_API_KEY",
        "connect",
        "",
    ),
    # 3: the body
    ("body-empty", b"", "demo_key", {}, 400, "INVALID_PARAMS", "network", "empty"),
    ("body-whitespace", b"  \n ", "demo_key", {}, 400, "INVALID_PARAMS", "network", "empty"),
    (
        "body-truncated",
        b'{"account_id": "acc_demo", "action": "recomm',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "JSON",
    ),
    ("body-array", b"[1, 2]", "demo_key", {}, 400, "INVALID_PARAMS", "network", "object"),
    (
        "body-string",
        b'"recommendations"',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "object",
    ),
    ("body-null", b"null", "demo_key", {}, 400, "INVALID_PARAMS", "network", "object"),
    ("body-number", b"42", "demo_key", {}, 400, "INVALID_PARAMS", "network", "object"),
    (
        "body-not-utf8",
        b'{"account_id": "acc_\xff\xfe", "action": "recommendations"}',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "JSON",
    ),
    (
        "body-lone-surrogate",
        b'{"account_id": "\\ud800", "action": "recommendations"}',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "JSON",
    ),
    (
        "body-200kb",
        body(padding="x" * 200_000),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "KiB",
    ),
    (
        "body-nan",
        b'{"account_id": "acc_demo", "action": "recommendations", "params": {"count": NaN}}',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "JSON",
    ),
    (
        "account-missing",
        body(account_id=...),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "account_id",
    ),
    (
        "account-int",
        body(account_id=123),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "account_id",
    ),
    (
        "account-null",
        body(account_id=None),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "account_id",
    ),
    (
        "account-list",
        body(account_id=["acc_demo"]),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "account_id",
    ),
    (
        "account-empty",
        body(account_id=""),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "account_id",
    ),
    (
        "action-missing",
        body(action=...),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "action",
    ),
    ("action-int", body(action=5), "demo_key", {}, 400, "INVALID_PARAMS", "network", "action"),
    ("action-null", body(action=None), "demo_key", {}, 400, "INVALID_PARAMS", "network", "action"),
    (
        "action-object",
        body(action={"name": "x"}),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "action",
    ),
    # 4: the action
    (
        "action-connect",
        body(action="connect"),
        "demo_key",
        {},
        400,
        "INVALID_ACTION",
        "connect",
        "recommendations, invite",
    ),
    (
        "action-uppercase",
        body(action="RECOMMENDATIONS"),
        "demo_key",
        {},
        400,
        "INVALID_ACTION",
        "RECOMMENDATIONS",
        "RECOMMENDATIONS",
    ),
    ("action-empty", body(action=""), "demo_key", {}, 400, "INVALID_ACTION", "", "supported"),
    (
        "order-action-before-account",
        body(action="connect", account_id="nope"),
        "demo_key",
        {},
        400,
        "INVALID_ACTION",
        "connect",
        "connect",
    ),
    # 5: the account
    (
        "account-unknown",
        body(account_id="acc_nope"),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "acc_nope",
    ),
    (
        "account-of-other-key",
        body(account_id="acc_other"),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "acc_other",
    ),
    (
        "account-5000-chars",
        body(account_id="a" * 5000),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "aaaa",
    ),
    (
        "account-nul",
        body(account_id="acc_demo\x00"),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "acc_demo",
    ),
    (
        "account-odd-unicode",
        body(account_id="acc_\u202edemo😀\u0301"),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "acc_",
    ),
    (
        "order-account-before-params",
        body(account_id="acc_nope", params={"count": 0}),
        "demo_key",
        {},
        404,
        "INVALID_ACCOUNT",
        "recommendations",
        "acc_nope",
    ),
    # 6: inactive account
    (
        "account-inactive",
        body(account_id="acc_inactive"),
        "demo_key",
        {},
        403,
        "ACCOUNT_INACTIVE",
        "recommendations",
        "inactive",
    ),
    (
        "order-inactive-before-params",
        body(account_id="acc_inactive", params={"count": "x"}),
        "demo_key",
        {},
        403,
        "ACCOUNT_INACTIVE",
        "recommendations",
        "inactive",
    ),
    # 7: params
    *[
        (
            f"count-{label}",
            params({"count": value}),
            "demo_key",
            {},
            400,
            "INVALID_PARAMS",
            "recommendations",
            "params.count",
        )
        for label, value in [
            ("0", 0),
            ("minus-1", -1),
            ("1001", 1001),
            ("string", "10"),
            ("float", 2.5),
            ("float-whole", 10.0),
            ("true", True),
            ("false", False),
            ("null", None),
            ("list", []),
            ("object", {}),
            ("huge", 10**30),
            ("exponent", 1e3),
        ]
    ],
    ("params-list", params([]), "demo_key", {}, 400, "INVALID_PARAMS", "recommendations", "params"),
    (
        "params-string",
        params("count=10"),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "params",
    ),
    (
        "params-null",
        params(None),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "params",
    ),
    (
        "params-v1-total-results",
        params({"total_results": 10}),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "total_results",
    ),
    (
        "params-unknown-beside-count",
        params({"count": 5, "offset": 1}),
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "params.offset",
    ),
    (
        "order-params-before-credits",
        body(account_id="acc_broke", params={"count": 0}),
        "broke_key",
        {},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "count",
    ),
    # 8: credits
    (
        "credits-zero",
        body(account_id="acc_broke"),
        "broke_key",
        {},
        402,
        "INSUFFICIENT_CREDITS",
        "recommendations",
        "This call costs 1 credit but the balance is 0",
    ),
    (
        "credits-short",
        body(account_id="acc_one_credit", params={"count": 11}),
        "one_credit_key",
        {},
        402,
        "INSUFFICIENT_CREDITS",
        "recommendations",
        "This call costs 2 credits but the balance is 1",
    ),
    # emulator headers are checked right after the key
    (
        "header-unknown-code",
        OK,
        "demo_key",
        {"X-Emulator-Error": "TEAPOT"},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "X-Emulator-Error",
    ),
    (
        "header-delay-negative",
        OK,
        "demo_key",
        {"X-Emulator-Delay-Ms": "-5"},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "X-Emulator-Delay-Ms",
    ),
    (
        "header-delay-too-long",
        OK,
        "demo_key",
        {"X-Emulator-Delay-Ms": "30001"},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "X-Emulator-Delay-Ms",
    ),
    *[
        (
            f"header-delay-{label}",
            OK,
            "demo_key",
            {"X-Emulator-Delay-Ms": value},
            400,
            "INVALID_PARAMS",
            "recommendations",
            "X-Emulator-Delay-Ms",
        )
        for label, value in [
            ("double-minus", "--5"),
            ("underscore", "1_0"),
            ("5000-digits", "9" * 5000),
            ("float", "1.5"),
            ("exponent", "1e3"),
        ]
    ],
    (
        "header-code-lowercase",
        OK,
        "demo_key",
        {"X-Emulator-Error": "rate_limited"},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "X-Emulator-Error",
    ),
    (
        "body-number-out-of-range",
        b'{"account_id": "acc_demo", "action": "recommendations", "params": {"count": 1e400}}',
        "demo_key",
        {},
        400,
        "INVALID_PARAMS",
        "network",
        "infinity",
    ),
    (
        "header-delay-text",
        OK,
        "demo_key",
        {"X-Emulator-Delay-Ms": "soon"},
        400,
        "INVALID_PARAMS",
        "recommendations",
        "X-Emulator-Delay-Ms",
    ),
]


@pytest.mark.parametrize(
    ("payload", "key", "headers", "status", "code", "action", "text"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_matrix(
    client: TestClient,
    payload: Any,
    key: str | None,
    headers: dict[str, str],
    status: int,
    code: str,
    action: str,
    text: str,
) -> None:
    raw = payload if isinstance(payload, bytes) else None
    before = {k: balance(client, k) for k in ("demo_key", "broke_key", "one_credit_key")}
    response = network(
        client, None if raw is not None else payload, key=key, raw=raw, headers=headers
    )
    body = assert_error(response, status, code, action)
    assert text in body["error"]["message"]
    assert "detail" not in body
    validate_response("post", "/v2/network", status, body)
    assert {k: balance(client, k) for k in before} == before, "an error debited credits"


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 60


def test_rate_limit_row(client: TestClient) -> None:
    throttled = body(account_id="acc_throttled")
    for _ in range(2):
        assert network(client, throttled, key="throttled_key").status_code == 200
    response = network(client, throttled, key="throttled_key")
    assert_error(response, 429, "RATE_LIMITED", "recommendations")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    validate_response("post", "/v2/network", 429, response.json())
    # the rate limit is checked before the body: a throttled key gets 429 whatever it sends
    assert network(client, raw=b"{", key="throttled_key").status_code == 429


def test_unexpected_exception_is_internal_error_without_details(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.emulator.generator, "pool", explode)  # type: ignore[attr-defined]
    response = network(client, OK)
    body = assert_error(response, 500, "INTERNAL_ERROR", "recommendations")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    validate_response("post", "/v2/network", 500, body)
    assert balance(client) == 1000


def test_unexpected_exception_on_the_control_plane_is_its_plain_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app.state.emulator.store, "tenant", explode)  # type: ignore[attr-defined]
    response = client.get("/_emulator/keys/demo_key")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "INTERNAL_ERROR", "message": "An unexpected error occurred"}
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "action", "allow"),
    [
        ("GET", "/v2/network", 405, "METHOD_NOT_ALLOWED", "network", "POST"),
        ("PUT", "/v2/network", 405, "METHOD_NOT_ALLOWED", "network", "POST"),
        ("POST", "/v2/credits", 405, "METHOD_NOT_ALLOWED", "get_credits", "GET, HEAD"),
        ("DELETE", "/v2/accounts/acc_demo", 405, "METHOD_NOT_ALLOWED", "get_account", "GET, HEAD"),
        ("POST", "/v2/profiles", 404, "NOT_FOUND", "unknown", None),
        ("GET", "/v2", 404, "NOT_FOUND", "unknown", None),
        ("GET", "/", 404, "NOT_FOUND", "unknown", None),
        ("GET", "/v1/network/recommendations", 404, "NOT_FOUND", "unknown", None),
        # a trailing slash is another path: no redirect to a host taken from the request
        ("POST", "/v2/network/", 404, "NOT_FOUND", "unknown", None),
        ("GET", "/v2/accounts/acc_demo/", 404, "NOT_FOUND", "unknown", None),
        ("GET", "/v2/credits/", 404, "NOT_FOUND", "unknown", None),
    ],
    ids=lambda value: str(value),
)
def test_unknown_routes_and_methods(
    client: TestClient,
    method: str,
    path: str,
    status: int,
    code: str,
    action: str,
    allow: str | None,
) -> None:
    response = client.request(method, path, headers={"x-api-key": "demo_key"})
    assert response.headers.get("allow") == allow
    assert_error(response, status, code, action)
    assert "detail" not in response.text


def test_control_plane_wrong_method_names_the_allowed_ones(client: TestClient) -> None:
    response = client.put("/_emulator/faults")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD, POST"
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "path",
    [
        "/v2/credits",
        "/v2/accounts",
        "/v2/accounts/acc_demo",
        "/_emulator/health",
        "/_emulator/keys/demo_key",
        "/_emulator/requests",
        "/_emulator/faults",
        "/openapi.yaml",
        "/openapi.json",
        "/docs",
        "/docs/assets/swagger-ui.css",
        "/metrics",
    ],
)
def test_every_get_route_answers_head_too(client: TestClient, path: str) -> None:
    """HEAD is GET without the body, on every path that takes GET; a wrong method says so."""
    got = client.get(path, headers={"x-api-key": "demo_key"})
    head = client.head(path, headers={"x-api-key": "demo_key"})
    assert (head.status_code, head.content) == (got.status_code, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    # Under /v2 the key comes first: only a valid one gets as far as the 405 and its Allow.
    wrong = client.put(path, headers={"x-api-key": "demo_key"})
    assert "HEAD" in wrong.headers["allow"].split(", ")


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=5-1", "items=0-1", "bytes=999999999-"])
def test_a_docs_asset_ignores_range(client: TestClient, header: str) -> None:
    """Starlette would answer a bad range in text/plain; the assets are served whole instead."""
    whole = client.get("/docs/assets/swagger-ui.css")
    ranged = client.get("/docs/assets/swagger-ui.css", headers={"range": header})
    assert (ranged.status_code, ranged.content) == (200, whole.content)


def test_allow_is_right_behind_a_root_path(settings: Settings) -> None:
    """Behind a proxy that sets root_path (or `uvicorn --root-path`), Allow still lists them."""
    with TestClient(create_app(settings), root_path="/api") as client:
        key = {"x-api-key": "demo_key"}
        assert client.put("/api/v2/credits", headers=key).headers["allow"] == "GET, HEAD"
        assert client.put("/api/_emulator/faults").headers["allow"] == "DELETE, GET, HEAD, POST"
        assert client.put("/api/docs/assets/swagger-ui.css").headers["allow"] == "GET, HEAD"


def test_a_wrong_method_on_a_docs_asset_names_get_and_head(client: TestClient) -> None:
    response = client.put("/docs/assets/swagger-ui.css")
    assert response.headers["allow"] == "GET, HEAD"
    assert_error(response, 405, "METHOD_NOT_ALLOWED", "unknown")


@pytest.mark.parametrize("path", ["/_emulator/nope", "/_emulator/faults/"])
def test_control_plane_unknown_route_is_plain_json(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": response.json()["error"]["message"]}
    }


@pytest.mark.parametrize("path", ["/_emulatorx", "/_emulator.json"])
def test_a_path_that_only_starts_like_the_control_plane_is_a_v2_404(
    client: TestClient, path: str
) -> None:
    assert_error(client.get(path), 404, "NOT_FOUND", "unknown")


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/v2/credits", "get_credits"),
        ("/v2/accounts", "list_accounts"),
        ("/v2/accounts/acc_demo", "get_account"),
    ],
)
def test_get_routes_need_a_key(client: TestClient, path: str, action: str) -> None:
    assert_error(client.get(path), 403, "INVALID_API_KEY", action)
    validate_response("get", path.replace("acc_demo", "{account_id}"), 403, client.get(path).json())


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=ten",
        "limit=1.5",
        "offset=-1",
        "offset=x",
        "offset=99999999999999999999999",
        "limit=--5",
        "offset=--1",
        "limit=\u00b2",
        "limit=1_0",
        "offset=" + "9" * 5000,
    ],
)
def test_list_accounts_bad_query(client: TestClient, query: str) -> None:
    response = client.get(f"/v2/accounts?{query}", headers={"x-api-key": "demo_key"})
    body = assert_error(response, 400, "INVALID_PARAMS", "list_accounts")
    assert query.split("=")[0] in body["error"]["message"]
    validate_response("get", "/v2/accounts", 400, body)


def test_foreign_account_is_not_found_on_get(client: TestClient) -> None:
    response = client.get("/v2/accounts/acc_other", headers={"x-api-key": "demo_key"})
    assert_error(response, 404, "INVALID_ACCOUNT", "get_account")


# Requests the HTTP parser itself rejects: they never reach the app, the server answers them,
# with the route's action when the parser read the request line.
MALFORMED_HTTP = {
    "request-line": (b"GARBAGE\r\n\r\n", "unknown"),
    "header-without-colon": (
        b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n",
        "get_credits",
    ),
    "space-in-header-name": (
        b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\nx api-key: k\r\n\r\n",
        "get_credits",
    ),
    "content-length-not-a-number": (
        b"POST /v2/network HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n{}",
        "network",
    ),
    "bad-chunk-size": (
        b"POST /v2/network HTTP/1.1\r\nHost: localhost\r\nx-api-key: demo_key\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "network",
    ),
    "http-version": (b"GET /v2/credits HTTP/7.3\r\nHost: localhost\r\n\r\n", "get_credits"),
}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer(["--log-level", "critical"])
    yield server
    server.stop()


def _raw_exchange(server: LiveServer, request: bytes) -> httpx.Response:
    """Send bytes no HTTP client would; read one answer (its head, then content-length bytes)."""
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed the connection after {answer!r}"
            answer += chunk
        head, _, content = answer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = [(k, v) for k, _, v in (line.partition(": ") for line in lines)]
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        while len(content) < length:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the connection mid-body"
            content += chunk
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=content)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_bytes", "action"), MALFORMED_HTTP.values(), ids=MALFORMED_HTTP.keys()
)
def test_malformed_http_is_answered_in_the_envelope(
    live: LiveServer, request_bytes: bytes, action: str
) -> None:
    with httpx.Client(base_url=live.base_url) as client:
        before = balance(client)
        response = _raw_exchange(live, request_bytes)
        body = assert_error(response, 400, "INVALID_PARAMS", action)
        assert "Malformed HTTP request" in body["error"]["message"]
        assert response.headers["content-length"] == str(len(response.content))
        assert response.headers["x-emulator-version"]
        assert len(response.headers["x-request-id"]) == 32
        validate_response("post", "/v2/network", 400, body)
        # The server goes on serving, and nothing was billed.
        assert balance(client) == before


@pytest.mark.slow
def test_malformed_http_on_the_control_plane_is_in_its_shape(live: LiveServer) -> None:
    request = (
        b"PATCH /_emulator/keys/demo_key HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n"
    )
    response = _raw_exchange(live, request)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "INVALID_PARAMS", "message": MALFORMED}}


@pytest.mark.slow
def test_a_websocket_upgrade_is_answered_as_plain_http(live: LiveServer) -> None:
    """No route speaks WebSocket: the Upgrade is ignored and the request answered as any other
    (uvicorn would otherwise answer a bare text/plain 403 of its own)."""
    request = (
        b"GET /v2/credits HTTP/1.1\r\nHost: localhost\r\nx-api-key: demo_key\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    response = _raw_exchange(live, request)
    assert response.status_code == 200
    assert response.json()["metadata"]["action"] == "get_credits"
    assert isinstance(response.json()["data"]["credits"], int)


def test_a_delay_wrapped_in_a_no_break_space_is_refused(client: TestClient) -> None:
    """The header arrives as latin-1; `str.strip()` would have taken the 0xA0 as whitespace."""
    response = network(client, OK, headers={"X-Emulator-Delay-Ms": b"\xa05"})  # type: ignore[dict-item]
    assert (
        "X-Emulator-Delay-Ms"
        in assert_error(response, 400, "INVALID_PARAMS", "recommendations")["error"]["message"]
    )


# -- SPEC 1.3: the key first under /v2, ids decoded per segment, strict query parameters ------


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [
        ("GET", "/v2/profiles", "unknown"),
        ("POST", "/v2/profiles", "unknown"),
        ("GET", "/v2", "unknown"),
        ("GET", "/v2/", "unknown"),
        ("DELETE", "/v2/webhooks/wh_1", "delete_webhook"),
        ("GET", "/v2/messages", "unknown"),
        ("POST", "/v2/network/", "unknown"),
        ("HEAD", "/v2/logs", "unknown"),
        # a wrong method too: the key is checked before the method is
        ("GET", "/v2/network", "network"),
        ("PUT", "/v2/credits", "get_credits"),
        ("OPTIONS", "/v2/accounts", "list_accounts"),
        ("DELETE", "/v2/accounts/acc_demo", "get_account"),
    ],
    ids=lambda value: str(value),
)
@pytest.mark.parametrize("key", [None, "", "nope"], ids=["missing", "empty", "unknown"])
def test_a_bad_key_is_403_on_any_v2_path(
    client: TestClient, method: str, path: str, action: str, key: str | None
) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = client.request(method, path, headers=headers)
    assert "allow" not in response.headers
    if method == "HEAD":
        assert (response.status_code, response.content) == (403, b"")
        return
    body = assert_error(response, 403, "INVALID_API_KEY", action)
    assert body["error"]["message"] == "The provided API key is invalid or missing"


def test_the_key_first_leaves_the_control_plane_and_other_paths_alone(client: TestClient) -> None:
    assert client.get("/_emulator/nope").json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/_emulator/health").status_code == 200
    assert_error(client.get("/v3/credits"), 404, "NOT_FOUND", "unknown")
    assert client.put("/_emulator/faults").status_code == 405


def test_an_unknown_v2_path_with_a_valid_key_is_journaled_with_it(client: TestClient) -> None:
    assert_error(
        client.get("/v2/profiles", headers={"x-api-key": "demo_key"}), 404, "NOT_FOUND", "unknown"
    )
    row = client.get("/_emulator/requests?api_key=demo_key&limit=1").json()["items"][0]
    assert (row["path"], row["status"], row["code"], row["api_key"]) == (
        "/v2/profiles",
        404,
        "NOT_FOUND",
        "****_key",
    )


@pytest.mark.parametrize(
    "raw",
    [
        "a%2Fb",
        "acc_demo%2F",
        "%2Facc_demo",
        "acc_demo%2Fx",
        "%2F",
        "acc%20demo",
        "%E2%82%AC",
        "%ZZ",
    ],
)
def test_an_encoded_account_id_that_matches_nothing_is_invalid_account(
    client: TestClient, raw: str
) -> None:
    """SPEC 1.3: decoded after the split on "/", never a routing 404."""
    response = client.get(f"/v2/accounts/{raw}", headers={"x-api-key": "demo_key"})
    body = assert_error(response, 404, "INVALID_ACCOUNT", "get_account")
    validate_response("get", "/v2/accounts/{account_id}", 404, body)
    assert client.get(f"/v2/accounts/{raw}").json()["error"]["code"] == "INVALID_API_KEY"


def test_an_encoded_account_id_of_the_key_is_found(client: TestClient) -> None:
    response = client.get("/v2/accounts/acc%5Fdemo", headers={"x-api-key": "demo_key"})
    assert response.status_code == 200
    assert response.json()["data"]["account_id"] == "acc_demo"
    assert response.json()["metadata"]["account_id"] == "acc_demo"
    encoded_route = client.get("/v2/cred%69ts", headers={"x-api-key": "demo_key"})
    assert (encoded_route.status_code, encoded_route.json()["data"]) == (200, {"credits": 1000})


def test_a_wrong_method_on_an_encoded_id_names_the_route(client: TestClient) -> None:
    response = client.delete("/v2/accounts/a%2Fb", headers={"x-api-key": "demo_key"})
    assert response.headers["allow"] == "GET, HEAD"
    assert_error(response, 405, "METHOD_NOT_ALLOWED", "get_account")


def test_an_encoded_slash_in_a_control_plane_id_is_a_404_not_a_405(client: TestClient) -> None:
    """No control-plane id holds a "/"; the router cannot take one, and says it is not there."""
    response = client.get("/_emulator/keys/a%2Fb")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert client.put("/_emulator/keys/a%2Fb").headers["allow"] == "GET, HEAD, PATCH"


@pytest.mark.parametrize(
    ("path", "query", "unknown", "action", "takes"),
    [
        ("/v2/accounts", "count=2", "count", "list_accounts", "it takes: limit, offset"),
        ("/v2/accounts", "limit=2&page=1", "page", "list_accounts", "it takes: limit, offset"),
        ("/v2/accounts", "Limit=2", "Limit", "list_accounts", "it takes: limit, offset"),
        ("/v2/credits", "account_id=acc_demo", "account_id", "get_credits", "it takes none"),
        ("/v2/accounts/acc_demo", "fields=all", "fields", "get_account", "it takes none"),
    ],
    ids=lambda value: str(value),
)
def test_an_unknown_query_parameter_is_invalid_params(
    client: TestClient, path: str, query: str, unknown: str, action: str, takes: str
) -> None:
    response = client.get(f"{path}?{query}", headers={"x-api-key": "demo_key"})
    body = assert_error(response, 400, "INVALID_PARAMS", action)
    assert body["error"]["message"] == (
        f"query parameter '{unknown}' is not a parameter of {action}; {takes}"
    )
    validate_response("get", path.replace("acc_demo", "{account_id}"), 400, body)
    assert balance(client) == 1000


def test_an_unknown_query_parameter_on_network_is_invalid_params(client: TestClient) -> None:
    response = client.post("/v2/network?count=5", json=OK, headers={"x-api-key": "demo_key"})
    body = assert_error(response, 400, "INVALID_PARAMS", "recommendations")
    assert body["error"]["message"] == (
        "query parameter 'count' is not a parameter of network; it takes none"
    )
    assert balance(client) == 1000


def test_the_documented_query_parameters_still_work(client: TestClient) -> None:
    response = client.get("/v2/accounts?limit=1&offset=0", headers={"x-api-key": "demo_key"})
    assert response.status_code == 200
    assert len(response.json()["data"]["items"]) == 1
