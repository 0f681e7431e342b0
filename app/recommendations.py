"""The `recommendations` action: its params, its bill and its data."""

from __future__ import annotations

from dataclasses import dataclass

from app.envelope import Json
from app.errors import InvalidParams
from app.generator import PeopleGenerator
from app.store import Account

DEFAULT_COUNT = 10  # the vendor's v1 default, and what its clients document for v2
MAX_COUNT = 1000  # vendor docs are silent; 1000 is our cap
PAGE_SIZE = 10  # LinkedIn's PYMK page; constant in every vendor example
PARAMS = ("count",)


@dataclass(frozen=True, slots=True)
class Plan:
    count: int


def parse(params: object) -> Plan:
    """Strict on purpose: null, bools, floats, numeric strings and unknown keys are client bugs."""
    if not isinstance(params, dict):
        raise InvalidParams('params must be an object, e.g. {"count": 10}')
    for key in params:
        if key not in PARAMS:
            raise InvalidParams(
                f"params.{str(key)[:60]} is not a parameter of recommendations;"
                f" it takes: {', '.join(PARAMS)}"
            )
    count = params.get("count", DEFAULT_COUNT)
    if type(count) is not int or not 1 <= count <= MAX_COUNT:
        raise InvalidParams(f"params.count must be an integer from 1 to {MAX_COUNT}")
    return Plan(count)


def returned(plan: Plan, account: Account) -> int:
    return min(plan.count, account.pool_size)


def cost(n: int) -> int:
    """1 credit per 10 results or fraction thereof; billed on results returned, so 0 costs 0."""
    return -(-n // PAGE_SIZE)


def data(generator: PeopleGenerator, account: Account, n: int) -> Json:
    """The `data` object in parts: envelope.success joins them once, whatever the count."""
    pool = generator.pool(account.account_id, account.country, account.pool_size)
    pages = max(1, cost(n))
    return [
        b'{"recommendations":',
        *pool.json_array_parts(n),
        b',"total_results":%d,"pagination":{"results_per_page":%d,"pages_fetched":%d}}'
        % (n, PAGE_SIZE, pages),
    ]
