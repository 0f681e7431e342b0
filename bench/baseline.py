"""Bare FastAPI baseline: answers POST /v2/network with the emulator's precomputed bytes per count.

$BENCH_BASELINE_BODIES names a folder of `<count>.json` files, each the exact body the emulator
returned for that count; bench/harness.py runs this app under uvicorn with the emulator's options.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from fastapi import FastAPI, Request, Response

BODIES: dict[int, bytes] = {
    int(path.stem): path.read_bytes()
    for path in Path(os.environ["BENCH_BASELINE_BODIES"]).glob("*.json")
}

app = FastAPI()


@app.post("/v2/network")
async def network(request: Request) -> Response:
    """Read the count from the JSON body and return the stored body for it."""
    count = orjson.loads(await request.body())["params"]["count"]
    return Response(BODIES[count], media_type="application/json")
