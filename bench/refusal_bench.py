"""Benchmark: a node answers a lot nothing opens in the same time whether or not it exists.

    .venv/bin/python -m bench.refusal_bench [--requests N]

A caller with no relation to a node's lots (a competitor) asks, through requests
the gateway forwards, for one of the node's real lots and for a lot id the node
does not hold. The answers must be identical (DESIGN.md, Trust 3), and so must the
time: the medians of N interleaved requests of each kind, over real HTTP on
loopback, are compared. Target: the medians differ by less than 5 % (and the
answer bodies are byte-identical but for the id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from bench.results_file import write_results
from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_GATEWAY
from oretrail.auth.requests import RequestContext, sign_request
from oretrail.auth.tokens import token_hash
from oretrail.bootstrap import Federation, load_federation_config, run_federation
from oretrail.config import ModelSettings, checkout_root

ROOT = checkout_root()
NODE = "circulo-recycling"
REAL = "urn:oretrail:lot:circulo-recycling:BM-2026-033"
MISSING = "urn:oretrail:lot:circulo-recycling:BM-2026-999"
QUERY = "query($ids: [ID!]!) { lots(ids: $ids) { answers { id status detail lot { id } } } }"
TARGET = 0.05


async def ask(
    session: aiohttp.ClientSession, federation: Federation, request: str, cert: str, lot: str
) -> tuple[float, str]:
    headers = {
        "Authorization": f"Bearer {request}",
        HEADER_CERTIFICATE: cert,
        HEADER_GATEWAY: gateway_token(federation.keys.gateway, NODE, token_hash(request)),
    }
    started = time.perf_counter()
    async with session.post(
        federation.node_urls[NODE],
        json={"query": QUERY, "variables": {"ids": [lot]}},
        headers=headers,
    ) as response:
        body = await response.text()
    return time.perf_counter() - started, body.replace(lot, "<id>")


async def measure(requests: int) -> dict[str, Any]:
    config = load_federation_config(ROOT / "config")
    with tempfile.TemporaryDirectory() as scratch:
        model = ModelSettings(store="memory", data_dir=Path(scratch))
        config = replace(config, settings=replace(config.settings, model=model))
        async with run_federation(config) as federation, aiohttp.ClientSession() as session:
            rival = federation.user("rivalauto")
            context = RequestContext(op="trace", roots=(REAL, MISSING), depth=20)
            request = sign_request(rival, context)
            times: dict[str, list[float]] = {"existing": [], "missing": []}
            bodies: dict[str, set[str]] = {"existing": set(), "missing": set()}
            for n in range(requests + 20):
                order = [("existing", REAL), ("missing", MISSING)]
                for kind, lot in order if n % 2 else reversed(order):
                    elapsed, body = await ask(session, federation, request, rival.certificate, lot)
                    if n >= 20:  # warm-up: connections, caches
                        times[kind].append(elapsed)
                        bodies[kind].add(body)
    existing = statistics.median(times["existing"]) * 1e6
    missing = statistics.median(times["missing"]) * 1e6
    difference = abs(existing - missing) / max(existing, missing)
    return {
        "requests_each": requests,
        "existing_median_us": round(existing, 1),
        "missing_median_us": round(missing, 1),
        "existing_p90_us": round(statistics.quantiles(times["existing"], n=10)[-1] * 1e6, 1),
        "missing_p90_us": round(statistics.quantiles(times["missing"], n=10)[-1] * 1e6, 1),
        "relative_difference_of_medians": round(difference, 4),
        "target": TARGET,
        "met": difference < TARGET,
        "answers_identical": bodies["existing"] == bodies["missing"]
        and len(bodies["existing"]) == 1,
        "answer": json.loads(next(iter(bodies["existing"]))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests of each kind")
    args = parser.parse_args()
    results = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores",
        **asyncio.run(measure(args.requests)),
    }
    write_results(f"refusal-timing-{results['date']}", results)
    return 0 if results["met"] and results["answers_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
