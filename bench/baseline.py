"""Bare FastAPI baseline: answers POST /v2/network with the emulator's precomputed bytes per count.

$BENCH_BASELINE_BODIES names a folder of `<count>.json` files, each the exact body the emulator
returned for that count of recommendations, and `<action>.json` files for the other actions
(bench/network.py); bench/harness.py runs this app under uvicorn with the emulator's options.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from fastapi import FastAPI, Request, Response

BODIES: dict[str, bytes] = {
    path.stem: path.read_bytes()
    for path in Path(os.environ["BENCH_BASELINE_BODIES"]).glob("*.json")
}

app = FastAPI()


@app.post("/v2/network")
async def network(request: Request) -> Response:
    """Read the action (and a recommendations count) from the JSON body; its stored body."""
    call = orjson.loads(await request.body())
    action = call["action"]
    key = str(call["params"]["count"]) if action == "recommendations" else action
    return Response(BODIES[key], media_type="application/json")
