"""The hand-written openapi.yaml: valid OpenAPI 3.1, faithful to the vendor page, and strict.

These tests need neither the app nor a server: they read the file and the vendor's page
(shared/seed/network-recommendations.txt, when it is there).
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.support.openapi import (
    SPEC_PATH,
    load_spec,
    response_schema,
    schema,
    validate_request_body,
    validate_response,
    validate_schema,
)

REPO = SPEC_PATH.parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ENTITY_ID = "ACoAACjveEcBSGN-I-TMI7NESPgssxZH8AW9LYY"  # a real-shaped id from the vendor's v1 page

# The vendor page's example, verbatim (shared/seed/network-recommendations.txt).
SEED_EXAMPLE: dict[str, Any] = {
    "success": True,
    "data": {
        "recommendations": [
            {
                "name": "Jane Doe",
                "subtitle": "Co-founder @ Acme Corp",
                "profile_url": "https://www.linkedin.com/in/jane-doe-42",
                "insight": "John and 35 other mutual connections",
                "entity_urn": (
                    "urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:ACoAA...,PYMK)"
                ),
                "profile_picture": "https://media.licdn.com/dms/image/v2/.../profile.jpg",
            }
        ],
        "total_results": 1,
        "pagination": {"results_per_page": 10, "pages_fetched": 1},
    },
    "metadata": {
        "action": "recommendations",
        "account_id": "your-account-id",
        "credits_consumed": 1,
        "timestamp": "2026-04-26T10:35:00Z",
    },
}

# The vendor's documented error (error-codes page), for the route this emulator serves.
ERROR_EXAMPLE: dict[str, Any] = {
    "success": False,
    "error": {"code": "INVALID_API_KEY", "message": "The provided API key is invalid or missing"},
    "metadata": {
        "action": "recommendations",
        "credits_consumed": 0,
        "timestamp": "2026-03-24T12:00:00Z",
    },
}


def _filled(example: dict[str, Any]) -> dict[str, Any]:
    """The vendor example with its elided entity id (``ACoAA...``) filled in."""
    body = copy.deepcopy(example)
    for item in body["data"]["recommendations"]:
        item["entity_urn"] = item["entity_urn"].replace("ACoAA...", ENTITY_ID)
    return body


def _seed_page() -> Path | None:
    env = os.environ.get("LINKUP_SEED_PAGE")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "seed" / "network-recommendations.txt" for p in REPO.parents]
    return next((p for p in candidates if p.is_file()), None)


def _walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        yield where, node
        for k, v in node.items():
            yield from _walk(v, f"{where}/{str(k).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{where}/{i}")


def _resolve_pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), f"only local $refs are used, got {ref!r}"
    node = doc
    for raw in ref[2:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (m.upper(), path, op)
        for path, item in load_spec()["paths"].items()
        for m, op in item.items()
        if m in METHODS
    ]


# ------------------------------------------------------------------ the file is valid OpenAPI 3.1


def test_is_openapi_3_1_0() -> None:
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == "0.1.0"
    assert spec["servers"] == [
        {"url": "http://127.0.0.1:8000", "description": spec["servers"][0]["description"]}
    ]


def test_valid_per_openapi_spec_validator() -> None:
    osv = pytest.importorskip(
        "openapi_spec_validator", reason="openapi-spec-validator not installed"
    )
    osv.validate(copy.deepcopy(load_spec()), cls=osv.OpenAPIV31SpecValidator)


def test_valid_per_oas_3_1_meta_schema() -> None:
    """The OAS 3.1 meta-schema (as shipped by schemathesis, a dev dependency) accepts the file."""
    definitions = pytest.importorskip("schemathesis.specs.openapi.definitions")
    meta = definitions.OPENAPI_31
    errors = sorted(Draft202012Validator(meta).iter_errors(load_spec()), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors[:20])


def test_every_ref_resolves() -> None:
    spec = load_spec()
    refs = [
        (where, node["$ref"]) for where, node in _walk(spec) if isinstance(node.get("$ref"), str)
    ]
    assert refs
    for where, ref in refs:
        try:
            _resolve_pointer(spec, ref)
        except (KeyError, IndexError, ValueError) as exc:  # pragma: no cover - failure path
            pytest.fail(f"{where}: $ref {ref!r} does not resolve ({exc!r})")


def test_every_component_schema_is_a_valid_2020_12_schema() -> None:
    for name in load_spec()["components"]["schemas"]:
        Draft202012Validator.check_schema(schema(name))


def test_operation_ids_unique_and_tagged() -> None:
    ops = _operations()
    ids = [op["operationId"] for _, _, op in ops]
    assert len(ids) == len(set(ids)), ids
    tags = {t["name"] for t in load_spec()["tags"]}
    assert tags == {"network", "accounts", "webhooks", "emulator"}
    for method, path, op in ops:
        assert len(op["tags"]) == 1, (method, path)
        assert op["tags"][0] in tags, (method, path)
        want = "emulator" if not path.startswith("/v2/") else op["tags"][0]
        assert op["tags"][0] == want, (method, path)
    assert "not part of linkupapi" in next(
        t["description"].lower() for t in load_spec()["tags"] if t["name"] == "emulator"
    )


def test_documented_operations() -> None:
    got = {(m, p): op["operationId"] for m, p, op in _operations()}
    assert got[("POST", "/v2/network")] == "network"
    assert got[("GET", "/v2/credits")] == "getCredits"
    assert got[("GET", "/v2/accounts")] == "listAccounts"
    assert got[("GET", "/v2/accounts/{account_id}")] == "getAccount"
    for m, p in [
        ("GET", "/_emulator/health"),
        ("POST", "/_emulator/reset"),
        ("POST", "/_emulator/keys"),
        ("GET", "/_emulator/keys/{api_key}"),
        ("PATCH", "/_emulator/keys/{api_key}"),
        ("PATCH", "/_emulator/accounts/{account_id}"),
        ("GET", "/_emulator/accounts/{account_id}/network"),
        ("POST", "/_emulator/accounts/{account_id}/invitations"),
        ("POST", "/_emulator/accounts/{account_id}/invitations/{invitation_id}/respond"),
        ("GET", "/_emulator/requests"),
        ("GET", "/_emulator/clock"),
        ("POST", "/_emulator/clock"),
        ("POST", "/_emulator/faults"),
        ("GET", "/_emulator/faults"),
        ("DELETE", "/_emulator/faults"),
        ("DELETE", "/_emulator/faults/{fault_id}"),
        ("GET", "/metrics"),
        ("GET", "/openapi.yaml"),
        ("GET", "/openapi.json"),
    ]:
        assert (m, p) in got, (m, p)
    # HEAD is answered on every GET route, so it is declared on each (issue 16).
    gets = sorted(p for m, p in got if m == "GET")
    assert sorted(p for m, p in got if m == "HEAD") == gets
    for path in gets:
        assert got[("HEAD", path)] == got[("GET", path)] + "Head"
    assert len(got) == 34 + len(gets) == 50  # 11 of them webhooks and logs (SPEC 1.8)


def test_security() -> None:
    spec = load_spec()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        **schemes["ApiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert schemes["AdminToken"]["type"] == "http"
    assert schemes["AdminToken"]["scheme"] == "bearer"
    assert "security" not in spec  # per operation, below
    for method, path, op in _operations():
        if path.startswith("/v2/"):
            assert op["security"] == [{"ApiKey": []}], (method, path)
        elif path == "/_emulator/health" or not path.startswith("/_emulator/"):
            assert op["security"] == [], (method, path)
        else:
            assert op["security"] == [{}, {"AdminToken": []}], (method, path)
            assert "401" in op["responses"], (method, path)


def test_v2_operations_document_every_injectable_status_and_the_emulator_headers() -> None:
    for method, path, op in _operations():
        if not path.startswith("/v2/"):
            continue
        injectable = {"200", "400", "402", "403", "404", "429", "500"}
        # HEAD is taken wherever GET is, so only the other methods can meet a 405.
        expected = injectable if method == "HEAD" else injectable | {"405"}
        assert set(op["responses"]) == expected, (method, path)
        refs = {p.get("$ref") for p in op["parameters"]}
        assert "#/components/parameters/EmulatorError" in refs, (method, path)
        assert "#/components/parameters/EmulatorDelayMs" in refs, (method, path)


def test_every_response_declares_the_emulator_headers() -> None:
    spec = load_spec()
    for method, path, op in _operations():
        for status, resp in op["responses"].items():
            if "$ref" in resp:
                resp = _resolve_pointer(spec, resp["$ref"])
            headers = resp.get("headers", {})
            assert headers.get("X-Request-Id") == {"$ref": "#/components/headers/X-Request-Id"}, (
                method,
                path,
                status,
            )
            assert headers.get("X-Emulator-Version") == {
                "$ref": "#/components/headers/X-Emulator-Version"
            }, (method, path, status)
            if status == "429":
                assert "Retry-After" in headers


def _codes(schema_name: str) -> set[str]:
    """The codes one per-status error schema allows (an enum, or a const for one code)."""
    spec = load_spec()
    props = spec["components"]["schemas"][schema_name]["properties"]
    code = props["error"]["properties"]["code"]
    return set(code["enum"]) if "enum" in code else {code["const"]}


def test_forcible_codes_header() -> None:
    spec = load_spec()
    forced = spec["components"]["schemas"]["ForcibleErrorCode"]["enum"]
    # Every code an operation's error can carry, but the routing answers (the info description
    # and README say so).
    per_status = [
        name
        for name in spec["components"]["schemas"]
        if name.startswith("Error") and name not in ("ErrorMessage", "ErrorMetadata")
    ]
    v2_codes = set().union(*(_codes(name) for name in per_status))
    # NOT_FOUND is also a webhook route's answer for an id the key has no webhook of; like
    # METHOD_NOT_ALLOWED it is a routing answer, never injected.
    assert set(forced) == v2_codes - {"METHOD_NOT_ALLOWED", "NOT_FOUND"}
    assert "NOT_FOUND" in spec["info"]["description"]
    delay = spec["components"]["parameters"]["EmulatorDelayMs"]["schema"]
    assert (delay["minimum"], delay["maximum"]) == (0, 30000)


# ------------------------------------------------------------------ the vendor's examples validate


def test_seed_page_example_is_the_one_transcribed_here() -> None:
    page = _seed_page()
    if page is None:
        pytest.skip("shared/seed/network-recommendations.txt not found beside the repo")
    text = page.read_text(encoding="utf-8")
    start = text.index('{\n  "success": true')
    body, _ = json.JSONDecoder().raw_decode(text, start)
    assert body == SEED_EXAMPLE


def test_seed_example_validates_once_its_elided_id_is_filled() -> None:
    validate_response("POST", "/v2/network", 200, _filled(SEED_EXAMPLE))


def test_seed_example_fails_only_on_its_elided_entity_id() -> None:
    """The page elides the profile id as ``ACoAA...``.

    The strict URN pattern must notice that, and nothing else.
    """
    with pytest.raises(AssertionError) as exc:
        validate_response("POST", "/v2/network", 200, SEED_EXAMPLE)
    problems = [line for line in str(exc.value).splitlines() if line.startswith("  at ")]
    assert len(problems) == 1, str(exc.value)
    assert "entity_urn" in problems[0], str(exc.value)


def test_examples_in_the_file_validate() -> None:
    """Every media-type example of the document validates against its own schema."""
    spec = load_spec()
    checked = 0
    for method, path, op in _operations():
        for status, resp in op["responses"].items():
            if "$ref" in resp:
                resp = _resolve_pointer(spec, resp["$ref"])
            media = resp.get("content", {}).get("application/json", {})
            values = [media["example"]] if "example" in media else []
            values += [ex["value"] for ex in media.get("examples", {}).values()]
            for value in values:
                validate_response(method, path, int(status), value)
                checked += 1
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        values = [body["example"]] if "example" in body else []
        values += [ex["value"] for ex in body.get("examples", {}).values()]
        for value in values:
            validate_request_body(method, path, value)
            checked += 1
    assert checked >= 20


def test_documented_error_example_validates() -> None:
    validate_response("POST", "/v2/network", 403, ERROR_EXAMPLE)
    for status, code in [
        (400, "INVALID_PARAMS"),
        (400, "INVALID_ACTION"),
        (402, "INSUFFICIENT_CREDITS"),
        (403, "ACCOUNT_INACTIVE"),
        (404, "INVALID_ACCOUNT"),
        (429, "RATE_LIMITED"),
        (500, "INTERNAL_ERROR"),
    ]:
        body = copy.deepcopy(ERROR_EXAMPLE)
        body["error"]["code"] = code
        validate_response("POST", "/v2/network", status, body)
        validate_response(
            "GET",
            "/v2/credits",
            status,
            {**body, "metadata": {**body["metadata"], "action": "get_credits"}},
        )


def test_seed_error_example_matches_the_file() -> None:
    resp = load_spec()["components"]["responses"]["Forbidden"]
    example = resp["content"]["application/json"]["examples"]["invalidApiKey"]["value"]
    assert example["error"] == ERROR_EXAMPLE["error"]


def test_recommendation_has_exactly_six_required_fields() -> None:
    rec = load_spec()["components"]["schemas"]["Recommendation"]
    six = ["name", "subtitle", "profile_url", "insight", "entity_urn", "profile_picture"]
    assert sorted(rec["required"]) == sorted(six) == sorted(rec["properties"])
    assert rec["additionalProperties"] is False


def test_profile_picture_may_be_null() -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["recommendations"][0]["profile_picture"] = None
    validate_response("POST", "/v2/network", 200, body)


def test_other_v2_success_bodies() -> None:
    ts = "2026-04-26T10:35:00Z"
    account = {
        "account_id": "acc_demo",
        "platform": "linkedin",
        "account_name": "Demo",
        "is_active": True,
        "status": "active",
        "country": "US",
        "created_at": ts,
        "updated_at": ts,
    }
    for credits in (0, 997, 1_000_000):
        validate_response(
            "GET",
            "/v2/credits",
            200,
            {
                "success": True,
                "data": {"credits": credits},
                "metadata": {"action": "get_credits", "credits_consumed": 0, "timestamp": ts},
            },
        )
    for not_a_balance in (None, -1, "1000", 1.5):  # SPEC 1.3: always an integer, unmetered too
        with pytest.raises(AssertionError, match="credits"):
            validate_response(
                "GET",
                "/v2/credits",
                200,
                {
                    "success": True,
                    "data": {"credits": not_a_balance},
                    "metadata": {"action": "get_credits", "credits_consumed": 0, "timestamp": ts},
                },
            )
    validate_response(
        "GET",
        "/v2/accounts",
        200,
        {
            "success": True,
            "data": {"items": [account], "total": 1, "limit": 50, "offset": 0},
            "metadata": {"action": "list_accounts", "credits_consumed": 0, "timestamp": ts},
        },
    )
    validate_response(
        "GET",
        "/v2/accounts/{account_id}",
        200,
        {
            "success": True,
            "data": account,
            "metadata": {
                "action": "get_account",
                "account_id": "acc_demo",
                "credits_consumed": 0,
                "timestamp": ts,
            },
        },
    )
    with pytest.raises(
        AssertionError, match="account_id"
    ):  # list_accounts metadata has no account_id
        validate_response(
            "GET",
            "/v2/accounts",
            200,
            {
                "success": True,
                "data": {"items": [], "total": 0, "limit": 50, "offset": 0},
                "metadata": {
                    "action": "list_accounts",
                    "account_id": "x",
                    "credits_consumed": 0,
                    "timestamp": ts,
                },
            },
        )


def test_request_bodies() -> None:
    validate_request_body("POST", "/v2/network", {"account_id": "a", "action": "recommendations"})
    validate_request_body(
        "POST",
        "/v2/network",
        {"account_id": "a", "action": "recommendations", "params": {"count": 1000}, "extra": 1},
    )
    for bad in [
        {"action": "recommendations"},
        {"account_id": "", "action": "recommendations"},
        {"account_id": "a", "action": "invite"},
        {"account_id": "a", "action": "recommendations", "params": {"total_results": 10}},
        {"account_id": "a", "action": "recommendations", "params": {"count": 0}},
        {"account_id": "a", "action": "recommendations", "params": {"count": 1001}},
        {"account_id": "a", "action": "recommendations", "params": {"count": None}},
        {"account_id": "a", "action": "recommendations", "params": {"count": "10"}},
        {"account_id": "a", "action": "recommendations", "params": {"count": True}},
        {"account_id": "a", "action": "recommendations", "params": {"count": 2.5}},
    ]:
        with pytest.raises(AssertionError):
            validate_request_body("POST", "/v2/network", bad)


def test_control_plane_bodies() -> None:
    validate_request_body("POST", "/_emulator/keys", {"api_key": "k"})
    validate_request_body(
        "POST",
        "/_emulator/keys",
        {
            "api_key": "k",
            "credits": None,
            "rate_limit": 0,
            "accounts": [
                {"account_id": "a", "status": "inactive", "country": "DE", "pool_size": 0}
            ],
        },
    )
    for bad in [
        {"api_key": ""},
        {"api_key": "k", "credits": -1},
        {"api_key": "k", "accounts": [{"account_id": "a", "pool_size": 10001}]},
        {"api_key": "k", "accounts": [{"account_id": "a", "country": "USA"}]},
    ]:
        with pytest.raises(AssertionError):
            validate_request_body("POST", "/_emulator/keys", bad)
    validate_request_body("PATCH", "/_emulator/keys/{api_key}", {"credits": None})
    with pytest.raises(AssertionError):
        validate_request_body("PATCH", "/_emulator/keys/{api_key}", {})
    validate_request_body("POST", "/_emulator/faults", {"error": "RATE_LIMITED", "times": 2})
    validate_request_body(
        "POST",
        "/_emulator/faults",
        {"delay_ms": 0, "probability": 0.5, "times": None, "match": {"action": None}},
    )
    for bad in [
        {},
        {"times": 1},
        {"error": None, "delay_ms": None},
        {"error": "RATE_LIMITED", "times": 1, "probability": 0.5},
        {"error": "NOT_FOUND"},
        {"delay_ms": 30001},
        {"error": "INTERNAL_ERROR", "probability": 2},
    ]:
        with pytest.raises(AssertionError):
            validate_request_body("POST", "/_emulator/faults", bad)
    validate_response(
        "POST",
        "/_emulator/faults",
        201,
        {
            "id": "f1",
            "match": {"api_key": None, "account_id": None, "action": None},
            "error": None,
            "delay_ms": 100,
            "times": None,
            "probability": None,
            "matched": 0,
        },
    )
    validate_response(
        "GET",
        "/_emulator/health",
        200,
        {"status": "ok", "version": "0.1.0", "store": "file", "uptime_s": 0},
    )
    validate_response("POST", "/_emulator/reset", 200, {"reset": "all", "api_key": None})
    validate_response(
        "DELETE",
        "/_emulator/faults/{fault_id}",
        404,
        {"error": {"code": "NOT_FOUND", "message": "no such fault rule: f9"}},
    )
    with pytest.raises(AssertionError, match="not documented"):
        validate_response(
            "GET", "/_emulator/health", 401, {"error": {"code": "UNAUTHORIZED", "message": "x"}}
        )
    with pytest.raises(AssertionError):  # the v2 envelope is not the control-plane error
        validate_response("POST", "/_emulator/keys", 409, ERROR_EXAMPLE)


def test_schema_helper_is_self_contained() -> None:
    s = schema("Recommendation")
    rec = _filled(SEED_EXAMPLE)["data"]["recommendations"][0]
    Draft202012Validator(s).validate(rec)
    assert not Draft202012Validator(s).is_valid({**rec, "age": 3})
    validate_schema("Recommendation", rec)
    with pytest.raises(AssertionError, match="no components/schemas/Nope"):
        schema("Nope")
    assert response_schema("GET", "/metrics", 200) is None
    validate_response("GET", "/metrics", 200, None)


# ------------------------------------------------------------------ the validator can fail


def _expect_rejected(body: Any, *, status: int = 200, match: str) -> str:
    with pytest.raises(AssertionError) as exc:
        validate_response("POST", "/v2/network", status, body)
    message = str(exc.value)
    assert re.search(match, message), message
    return message


def test_rejects_a_seventh_field_in_a_recommendation() -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["recommendations"][0]["headline"] = "extra"
    msg = _expect_rejected(body, match=r"headline")
    assert "$.data.recommendations[0]" in msg


def test_rejects_a_missing_field_in_a_recommendation() -> None:
    body = _filled(SEED_EXAMPLE)
    del body["data"]["recommendations"][0]["profile_picture"]
    _expect_rejected(body, match=r"profile_picture")


def test_rejects_a_trailing_slash_profile_url() -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["recommendations"][0]["profile_url"] += "/"
    _expect_rejected(body, match=r"\$\.data\.recommendations\[0\]\.profile_url")


@pytest.mark.parametrize(
    "urn",
    [
        f"urn:li:fsd_profile:{ENTITY_ID}",  # bare profile URN, not the discovery card
        f"urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:{ENTITY_ID}X,PYMK)",  # 40-char id
        f"urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:{ENTITY_ID},PYMK)x",
        f"urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:B{ENTITY_ID[1:]},PYMK)",
        f"urn:li:fsd_discoveryEntityViewModel:(urn:li:fsd_profile:{ENTITY_ID[:-1]}!,PYMK)",
    ],
)
def test_rejects_a_wrong_urn(urn: str) -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["recommendations"][0]["entity_urn"] = urn
    _expect_rejected(body, match=r"entity_urn")


def test_rejects_a_foreign_profile_picture_host() -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["recommendations"][0]["profile_picture"] = "https://example.com/p.jpg"
    _expect_rejected(body, match=r"profile_picture")


def test_rejects_success_true_with_an_error() -> None:
    body = {**copy.deepcopy(ERROR_EXAMPLE), "success": True}
    _expect_rejected(body, status=403, match=r"\$\.success")
    body = {**_filled(SEED_EXAMPLE), "error": ERROR_EXAMPLE["error"]}
    _expect_rejected(body, match=r"error")


def test_rejects_an_error_that_consumed_credits() -> None:
    body = copy.deepcopy(ERROR_EXAMPLE)
    body["metadata"]["credits_consumed"] = 1
    _expect_rejected(body, status=403, match=r"\$\.metadata\.credits_consumed")


def test_rejects_account_id_in_error_metadata() -> None:
    body = copy.deepcopy(ERROR_EXAMPLE)
    body["metadata"]["account_id"] = "acc_demo"
    _expect_rejected(body, status=403, match=r"account_id")


def test_rejects_an_error_code_on_the_wrong_status() -> None:
    _expect_rejected(copy.deepcopy(ERROR_EXAMPLE), status=404, match=r"\$\.error\.code")


def test_rejects_a_bad_timestamp() -> None:
    for ts in ["2026-04-26T10:35:00.123Z", "2026-04-26T10:35:00+00:00", "2026-04-26 10:35:00Z"]:
        body = _filled(SEED_EXAMPLE)
        body["metadata"]["timestamp"] = ts
        _expect_rejected(body, match=r"timestamp")


def test_rejects_a_wrong_results_per_page() -> None:
    body = _filled(SEED_EXAMPLE)
    body["data"]["pagination"]["results_per_page"] = 20
    _expect_rejected(body, match=r"results_per_page")


def test_rejects_an_undocumented_status_or_operation() -> None:
    with pytest.raises(AssertionError, match="status 422 is not documented"):
        validate_response("POST", "/v2/network", 422, {"detail": []})
    with pytest.raises(AssertionError, match="not documented"):
        validate_response("GET", "/v2/network", 200, {})
    with pytest.raises(AssertionError, match="not a path"):
        validate_response("POST", "/v1/network/recommendations", 200, {})


def test_shipped_fixtures_are_valid_tenant_specs() -> None:
    """What POST /_emulator/keys takes is what a fixtures file lists (README, "Fixtures")."""
    files = sorted((REPO / "fixtures").glob("*.y*ml"))
    if not files:
        pytest.skip("no fixtures/*.yaml yet")
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(doc, dict), path
        assert list(doc) == ["tenants"], path
        for tenant in doc["tenants"]:
            validate_schema("TenantSpec", tenant)


# ------------------------------------------------------------------ what tools trip on (issue 16)


def test_no_ref_has_sibling_keywords() -> None:
    """A `$ref` beside validation keywords is read differently by each tool (Prism merged the
    error responses' narrowed `properties` and flagged every error body): beside a `$ref` go
    annotations only, which change no tool's idea of a valid body."""
    spec = load_spec()
    annotations = {"$ref", "summary", "description", "default", "examples"}
    for where, node in _walk(spec):
        if isinstance(node.get("$ref"), str):
            assert set(node) <= annotations, (where, sorted(node))


def test_every_error_response_names_its_codes_in_one_schema() -> None:
    spec = load_spec()
    for name, response in spec["components"]["responses"].items():
        media = response.get("content", {}).get("application/json")
        if media is None:
            continue
        ref = media["schema"]["$ref"]
        target = _resolve_pointer(spec, ref)
        assert not {"allOf", "anyOf", "oneOf"} & set(target), name
        code = target["properties"]["error"]["properties"]["code"]
        assert code["type"] == "string", name
        assert ("enum" in code) != ("const" in code), name


def test_the_yaml_document_is_declared_as_text() -> None:
    media = load_spec()["paths"]["/openapi.yaml"]["get"]["responses"]["200"]["content"]
    assert list(media) == ["application/yaml"]
    assert media["application/yaml"]["schema"]["type"] == "string"


def test_the_json_document_defines_what_it_requires() -> None:
    document = schema("OpenApiDocument")["components"]["schemas"]["OpenApiDocument"]
    assert set(document["required"]) <= set(document["properties"])
    validate_response("GET", "/openapi.json", 200, json.loads(json.dumps(load_spec())))


def test_fault_spec_is_one_typed_model_for_generators() -> None:
    """Generators build a model from `properties`; `anyOf`/`oneOf` beside them made two types
    with untyped fields. The cross-field rules live in `not`, which generators skip."""
    fault = load_spec()["components"]["schemas"]["FaultSpec"]
    assert "anyOf" not in fault
    assert "oneOf" not in fault
    assert fault["type"] == "object"
    assert set(fault["properties"]) == {"match", "error", "delay_ms", "times", "probability"}
    assert fault["properties"]["match"] == {"$ref": "#/components/schemas/FaultMatch"}
    assert {"$ref": "#/components/schemas/ForcibleErrorCode"} in fault["properties"]["error"][
        "oneOf"
    ]
    for field in ("delay_ms", "times", "probability"):
        assert "type" in fault["properties"][field], field
    assert set(fault) == {"description", "type", "additionalProperties", "properties", "not"}


def test_every_get_is_declared_with_its_head_and_every_other_method_with_its_405() -> None:
    spec = load_spec()
    for method, path, op in _operations():
        if method == "GET":
            assert "head" in spec["paths"][path], path
        if method == "HEAD":
            assert "405" not in op["responses"], path
            for status, response in op["responses"].items():
                target = _resolve_pointer(spec, response["$ref"])
                assert "content" not in target, (path, status)  # HEAD has no body
            continue
        response = op["responses"]["405"]
        target = _resolve_pointer(spec, response["$ref"])
        assert target["headers"]["Allow"] == {"$ref": "#/components/headers/Allow"}, path
        shape = "ControlMethodNotAllowed" if path.startswith("/_emulator/") else "MethodNotAllowed"
        assert response == {"$ref": f"#/components/responses/{shape}"}, path


def test_every_operation_has_a_4xx_and_a_description() -> None:
    for method, path, op in _operations():
        assert any(status.startswith("4") for status in op["responses"]), (method, path)
        assert op["description"].strip(), (method, path)
    assert load_spec()["info"]["contact"]["name"]


def test_timestamp_is_for_outputs_and_inputs_take_any_rfc3339_offset() -> None:
    """`Timestamp` (Z only) describes answers; what a request takes is declared as it is."""
    spec = load_spec()
    for method, path, op in _operations():
        body = op.get("requestBody")
        if body is None:
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"]
        seen = json.dumps(_resolve_pointer(spec, ref))
        assert "Timestamp" not in seen, (method, path)
    created = spec["components"]["schemas"]["AccountSpec"]["properties"]["created_at"]
    assert created["format"] == "date-time"
    for given in (
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T02:00:00.5+02:00",
    ):
        validate_schema("AccountSpec", {"account_id": "a", "created_at": given})
    with pytest.raises(AssertionError, match="created_at"):
        validate_schema("AccountSpec", {"account_id": "a", "created_at": "2026-01-01T00:00:00"})
    for answered in ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.5Z"):
        with pytest.raises(AssertionError, match=r"Timestamp|does not match"):
            validate_schema("Timestamp", answered)
