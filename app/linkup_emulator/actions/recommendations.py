"""The `recommendations` action: LinkedIn's People You May Know, its bill and its data."""

from __future__ import annotations

from linkup_emulator.actions.base import Action, Context, Plan
from linkup_emulator.envelope import Json
from linkup_emulator.errors import InvalidParams
from linkup_emulator.generator.pool import Pool

DEFAULT_COUNT = 10  # the vendor's v1 default, and what its clients document for v2
MAX_COUNT = 1000  # vendor docs are silent; 1000 is our cap
PAGE_SIZE = 10  # LinkedIn's PYMK page; constant in every vendor example


def plan(context: Context, params: dict[str, object]) -> Plan:
    """Strict on purpose: null, bools, floats and numeric strings are client bugs."""
    count = params.get("count", DEFAULT_COUNT)
    if type(count) is not int or not 1 <= count <= MAX_COUNT:
        raise InvalidParams(f"params.count must be an integer from 1 to {MAX_COUNT}")
    graph = context.graph
    assert graph is not None
    # Members who left PYMK (invited, withdrawn, declined, expired) never come back to it.
    skip = graph.pymk_skip()
    n = min(count, graph.pool.size - len(skip))
    return Plan(cost(n), data(graph.pool, n, skip))


def cost(n: int) -> int:
    """1 credit per 10 results or fraction thereof; billed on results returned, so 0 costs 0."""
    return -(-n // PAGE_SIZE)


def data(pool: Pool, n: int, skip: frozenset[int] = frozenset()) -> Json:
    """The `data` object in parts: envelope.success joins them once, whatever the count."""
    pages = max(1, cost(n))
    return [
        b'{"recommendations":',
        *pool.json_array_skipping(n, skip),
        b',"total_results":%d,"pagination":{"results_per_page":%d,"pages_fetched":%d}}'
        % (n, PAGE_SIZE, pages),
    ]


ACTION = Action("recommendations", params=("count",), plan=plan, reads_graph=True)
