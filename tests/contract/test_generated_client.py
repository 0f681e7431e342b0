"""A Python client generated from openapi.yaml with openapi-python-client: generated without a
single warning, it drives a live emulator through every operation (tests/contract/traffic.py),
and each answer, success or error, parses into the model the contract names for its status."""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterator
from types import ModuleType

import pytest

from linkup_emulator.pytest_plugin import LiveServer
from tests.contract.conftest import PACKAGE
from tests.contract.traffic import Traffic, drive, expect
from tests.support.openapi import load_spec

pytestmark = pytest.mark.slow  # the generator and the emulator run as processes

Generated = tuple[ModuleType, list[str]]


@pytest.fixture(scope="module")
def emulator() -> Iterator[LiveServer]:
    live = LiveServer(["--seed", "generated-client", "--log-level", "warning"])
    yield live
    live.stop()


def test_the_generator_prints_no_warning(generated: Generated) -> None:
    package, printed = generated
    assert len(printed) == 1, "\n".join(printed)
    assert printed[0].startswith("Generating ")
    assert printed[0].endswith(PACKAGE)
    assert package.__name__ == PACKAGE


def test_every_operation_is_generated(generated: Generated) -> None:
    """One function per operationId: none dropped (as /openapi.yaml once was)."""
    package, _ = generated
    traffic = Traffic(package, "http://127.0.0.1:9")
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            tag, name = operation["tags"][0], operation["operationId"]
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
            module = traffic.api(tag, snake)
            assert callable(module.sync_detailed), (method, path)


def test_every_operation_through_the_generated_client(
    generated: Generated, emulator: LiveServer
) -> None:
    package, _ = generated
    with Traffic(package, emulator.base_url) as traffic:
        drive(traffic)
    assert len(traffic.seen) >= 60
    assert {exchange.method for exchange in traffic.seen} == {
        "GET",
        "HEAD",
        "POST",
        "PATCH",
        "PUT",
        "DELETE",
    }


def test_the_admin_token_is_a_bearer_token_to_the_generated_client(generated: Generated) -> None:
    package, _ = generated
    live = LiveServer(["--admin-token", "s3cret", "--log-level", "warning"])
    try:
        with Traffic(package, live.base_url) as traffic:
            models = traffic.models
            tenant = traffic.api("emulator", "get_tenant")
            wrong = tenant.sync_detailed("demo_key", client=traffic.client("nope", admin=True))
            refused = expect(wrong, 401, models.ControlErrorUnauthorized)
            assert refused.error.code == "UNAUTHORIZED"
            right = tenant.sync_detailed("demo_key", client=traffic.client("s3cret", admin=True))
            assert expect(right, 200, models.TenantReport).credits_.balance == 1000
            head = traffic.api("emulator", "get_tenant_head")
            nope = traffic.client("nope", admin=True)
            expect(head.sync_detailed("demo_key", client=nope), 401, None)
    finally:
        live.stop()


def test_fault_spec_is_one_typed_model(generated: Generated) -> None:
    """Issue 16: `properties` beside `anyOf` once gave two types, `match`, `times` and
    `probability` untyped and `error` a plain string."""
    package, _ = generated
    models = Traffic(package, "http://127.0.0.1:9").models
    home = vars(sys.modules[models.FaultSpec.__module__])  # Unset, and the models it names
    hints = typing.get_type_hints(models.FaultSpec, {**home, **vars(models)})
    assert set(hints) == {"match", "error", "delay_ms", "times", "probability"}
    assert models.FaultMatch in typing.get_args(hints["match"])
    assert models.ForcibleErrorCode in typing.get_args(hints["error"])
    assert int in typing.get_args(hints["times"])
    assert float in typing.get_args(hints["probability"])
    assert not [name for name in dir(models) if name.startswith("FaultSpecType")]
