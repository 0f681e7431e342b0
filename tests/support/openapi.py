"""Validate bodies against the hand-written ``openapi.yaml`` (not FastAPI's generated schema).

The document at the repository root is the contract; these helpers let any test assert that
what the app answered is what the contract says::

    validate_response("POST", "/v2/network", resp.status_code, resp.json())
    validate_request_body("POST", "/_emulator/keys", {"api_key": "k"})
    jsonschema.validate(item, schema("Recommendation"))

Every failure is an ``AssertionError`` whose message names the operation, the status and each
offending location in the body. ``$ref`` is resolved over the whole document with a
``referencing.Registry`` (JSON Schema Draft 2020-12, the dialect of OpenAPI 3.1), so the
3.1 style of nullability (``type: [string, "null"]``) and ``$ref`` with sibling keywords work.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "SPEC_PATH",
    "load_spec",
    "operation",
    "request_body_schema",
    "response_schema",
    "schema",
    "validate_request_body",
    "validate_response",
    "validate_schema",
]

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
_BASE_URI = "urn:linkup-emulator:openapi.yaml"
_JSON = "application/json"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The parsed ``openapi.yaml`` (cached; treat it as read-only)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    if not isinstance(doc, dict):
        raise AssertionError(f"{SPEC_PATH} is not a YAML mapping")
    return doc


@functools.lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(load_spec())
    registry: Registry[Any] = Registry().with_resource(_BASE_URI, resource)
    return registry


# ---------------------------------------------------------------- pointers and OpenAPI $refs


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _pointer(*tokens: str) -> str:
    return "".join("/" + _escape(t) for t in tokens)


def _get(pointer: str) -> Any:
    node: Any = load_spec()
    for raw in pointer.split("/")[1:]:
        token = _unescape(raw)
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise AssertionError(f"openapi.yaml has nothing at #{pointer}")
    return node


def _follow(pointer: str) -> tuple[str, Any]:
    """Follow OpenAPI-object ``$ref``s (responses, request bodies...) to the real object."""
    seen: set[str] = set()
    node = _get(pointer)
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise AssertionError(f"unsupported $ref {ref!r} at #{pointer}")
        if ref in seen:
            raise AssertionError(f"$ref cycle through {ref!r}")
        seen.add(ref)
        pointer = ref[1:]
        node = _get(pointer)
    return pointer, node


# ---------------------------------------------------------------- lookups


def operation(method: str, path_template: str) -> dict[str, Any]:
    """The operation object of ``METHOD path_template`` (e.g. ``"POST", "/v2/network"``)."""
    return _get(_operation_pointer(method, path_template))  # type: ignore[no-any-return]


def _operation_pointer(method: str, path_template: str) -> str:
    paths = load_spec().get("paths") or {}
    if path_template not in paths:
        known = ", ".join(sorted(paths))
        raise AssertionError(f"{path_template!r} is not a path of openapi.yaml (paths: {known})")
    m = method.lower()
    if m not in _METHODS or m not in paths[path_template]:
        allowed = ", ".join(k.upper() for k in paths[path_template] if k in _METHODS)
        raise AssertionError(
            f"{method.upper()} {path_template} is not documented in openapi.yaml "
            f"(allowed: {allowed})"
        )
    return _pointer("paths", path_template, m)


def _status_key(responses: dict[str, Any], status: int) -> str | None:
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        if key in responses:
            return key
    return None


def response_schema(method: str, path_template: str, status: int) -> dict[str, Any] | None:
    """A schema (a ``$ref`` into the document) for the JSON body of that response.

    ``None`` when the response documents no ``application/json`` body. Raises AssertionError
    if ``status`` is not documented for the operation.
    """
    pointer = _response_json_pointer(method, path_template, status)
    return None if pointer is None else _wrap(pointer)


def _response_json_pointer(method: str, path_template: str, status: int) -> str | None:
    op_pointer = _operation_pointer(method, path_template)
    responses = _get(op_pointer).get("responses") or {}
    key = _status_key(responses, status)
    if key is None:
        documented = ", ".join(sorted(map(str, responses)))
        raise AssertionError(
            f"{method.upper()} {path_template}: status {status} is not documented "
            f"(documented: {documented})"
        )
    resp_pointer, resp = _follow(op_pointer + _pointer("responses", key))
    content = resp.get("content") or {}
    if _JSON not in content:
        return None
    if "schema" not in content[_JSON]:
        return None
    return resp_pointer + _pointer("content", _JSON, "schema")


def request_body_schema(method: str, path_template: str) -> dict[str, Any] | None:
    """A schema for the operation's JSON request body, or ``None`` if it takes none."""
    pointer = _request_json_pointer(method, path_template)
    return None if pointer is None else _wrap(pointer)


def _request_json_pointer(method: str, path_template: str) -> str | None:
    op_pointer = _operation_pointer(method, path_template)
    if "requestBody" not in _get(op_pointer):
        return None
    body_pointer, body = _follow(op_pointer + "/requestBody")
    content = body.get("content") or {}
    if _JSON not in content or "schema" not in content[_JSON]:
        return None
    return body_pointer + _pointer("content", _JSON, "schema")


def schema(name: str) -> dict[str, Any]:
    """``components/schemas/<name>`` as a self-contained Draft 2020-12 schema.

    The returned dict carries the document's ``components``, so any validator resolves its
    ``$ref``s without extra set-up: ``jsonschema.validate(x, schema("Account"))``.
    """
    schemas = (load_spec().get("components") or {}).get("schemas") or {}
    if name not in schemas:
        raise AssertionError(f"no components/schemas/{name} in openapi.yaml")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{_escape(name)}",
        "components": copy.deepcopy(load_spec()["components"]),
    }


# ---------------------------------------------------------------- validation


def _wrap(pointer: str) -> dict[str, Any]:
    return {"$ref": f"{_BASE_URI}#{pointer}"}


@functools.lru_cache(maxsize=256)
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator(_wrap(pointer), registry=_registry())


def _where(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check(pointer: str, instance: Any, what: str) -> None:
    errors = list(_validator(pointer).iter_errors(instance))
    if not errors:
        return
    lines = [f"{what} does not conform to openapi.yaml#{pointer}:"]
    for err in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])[:20]:
        # Descend into anyOf/oneOf to the most relevant cause, for a readable message.
        lines.append(f"  at {_where(err.absolute_path)}: {err.message}")
        if err.context:  # anyOf/oneOf/not: say what each branch wanted
            for sub in list(err.context)[:4]:
                lines.append(f"      - {_where(sub.absolute_path)}: {sub.message}")
    if len(errors) > 20:
        lines.append(f"  ... and {len(errors) - 20} more")
    lines.append(f"  body: {_short(instance, 600)}")
    raise AssertionError("\n".join(lines))


def validate_response(method: str, path_template: str, status: int, body: object) -> None:
    """Assert that ``status`` is documented for the operation and ``body`` matches its schema.

    ``body`` is the decoded JSON (``resp.json()``). For a response that documents no JSON body
    (e.g. ``/metrics``) only the status is checked, and ``body`` must be ``None`` or ``""``.
    """
    pointer = _response_json_pointer(method, path_template, status)
    what = f"{method.upper()} {path_template} -> {status} body"
    if pointer is None:
        if body not in (None, ""):
            raise AssertionError(f"{what}: openapi.yaml documents no {_JSON} body for it")
        return
    _check(pointer, body, what)


def validate_request_body(method: str, path_template: str, body: object) -> None:
    """Assert that ``body`` is a valid JSON request body for the operation."""
    pointer = _request_json_pointer(method, path_template)
    what = f"{method.upper()} {path_template} request body"
    if pointer is None:
        raise AssertionError(f"{what}: openapi.yaml documents no {_JSON} request body")
    _check(pointer, body, what)


def validate_schema(name: str, instance: object) -> None:
    """Assert that ``instance`` matches ``components/schemas/<name>``."""
    schema(name)  # raises a clear error for an unknown name
    _check(_pointer("components", "schemas", name), instance, f"{name} instance")
