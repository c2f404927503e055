"""Benchmark the cost of tokens per hop, and its share of a real trace's time.

    .venv/bin/python -m bench.token_bench

Per hop the gateway mints one delegated token and the node verifies it; for the
inputs it reveals the node signs one continuation grant per supplier, and the next
node verifies that grant and the token it names. The share of trace time multiplies those
costs by the requests and grants of a trace of the sample pack, served by real
uvicorn servers on loopback, and divides by that trace's measured wall time.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
from oretrail.auth.chain import Caller, Continuation, Delegation, NodeAuthority, Principal
from oretrail.auth.federation_keys import GATEWAY_KEY, FederationKeys

from bench.results_file import write_results
from oretrail.auth.tokens import StaticKeys
from oretrail.bootstrap import load_federation_config, run_federation
from oretrail.config import ModelSettings, checkout_root
from oretrail.report import TRACE_QUERY

ROOT = checkout_root()
PACK = "urn:oretrail:lot:nordvolt:PACK-2026-0412"
SULFATE = "urn:oretrail:lot:boreal-cobalt:CS-2026-102"
HYDROXIDE = "urn:oretrail:lot:copperbelt-trading:CH-2026-014"


async def timed(n: int, operation: Callable[[int], Awaitable[Any]]) -> float:
    """Median microseconds of ``operation`` over ``n`` runs."""
    samples = []
    for i in range(n):
        started = time.perf_counter()
        await operation(i)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1e6, 1)


async def crypto_costs(n: int) -> dict[str, float]:
    keys = FederationKeys.generate(["boreal-cobalt", "copperbelt-trading", "nordvolt"])
    ring = StaticKeys(keys.ring())
    caller = Caller("analyst@nordvolt", "nordvolt", frozenset({"OEM"}), frozenset({"trace"}))
    refiner = NodeAuthority("boreal-cobalt", keys.key("boreal-cobalt"), ring)
    trader = NodeAuthority("copperbelt-trading", keys.key("copperbelt-trading"), ring)
    delegations = [Delegation(keys.key(GATEWAY_KEY), caller, f"txn-{i}", "trace") for i in range(n)]
    refiner_tokens = [d.token_for("boreal-cobalt") for d in delegations]
    trader_tokens = [d.token_for("copperbelt-trading") for d in delegations]
    principals = [await refiner.principal(t) for t in refiner_tokens]
    grants = [refiner.issue_grants(p, [(HYDROXIDE, SULFATE)])[0].grant for p in principals]
    # One grant for the hundred inputs one answer opens at one supplier.
    hundred = [(f"urn:oretrail:lot:copperbelt-trading:CH-{i}", SULFATE) for i in range(100)]
    at_trader = [await trader.principal(t) for t in trader_tokens]

    async def mint_delegated(i: int) -> str:
        return delegations[i].token_for("boreal-cobalt")

    fresh = [d.token_for("boreal-cobalt") for d in delegations]
    verifier = NodeAuthority("boreal-cobalt", keys.key("boreal-cobalt"), ring)

    async def verify_delegated(i: int) -> object:
        return await verifier.principal(fresh[i])

    async def issue_grant(i: int) -> object:
        return refiner.issue_grants(principals[i], [(HYDROXIDE, SULFATE)])

    async def issue_grant_100(i: int) -> object:
        return refiner.issue_grants(principals[i], hundred)

    async def verify_grant(i: int) -> object:
        return await trader.check_grant(at_trader[i], grants[i], refiner_tokens[i])

    return {
        "mint_delegated_us": await timed(n, mint_delegated),
        "verify_delegated_us": await timed(n, verify_delegated),
        "issue_grant_us": await timed(n, issue_grant),
        "issue_grant_100_links_us": await timed(n, issue_grant_100),
        "verify_grant_us": await timed(n, verify_grant),
    }


async def trace_costs(runs: int) -> dict[str, Any]:
    issued = 0
    issue = NodeAuthority.issue_grants

    def counting(
        self: NodeAuthority, principal: Principal, links: Iterable[tuple[str, str]]
    ) -> list[Continuation]:
        nonlocal issued
        continuations = issue(self, principal, links)
        issued += len(continuations)
        return continuations

    with mock.patch.object(NodeAuthority, "issue_grants", counting):
        return await _trace_costs(runs, lambda: issued)


async def _trace_costs(runs: int, issued: Callable[[], int]) -> dict[str, Any]:
    config = load_federation_config(ROOT / "config")
    with tempfile.TemporaryDirectory() as scratch:
        model = ModelSettings(store="memory", data_dir=Path(scratch))
        config = replace(config, settings=replace(config.settings, model=model))
        async with run_federation(config) as federation, aiohttp.ClientSession() as session:
            token = federation.caller_token("nordvolt", roles=["OEM", "PACK"])
            headers = {"Authorization": f"Bearer {token}"}
            walls = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                async with session.post(
                    federation.gateway_url,
                    headers=headers,
                    json={"query": TRACE_QUERY, "variables": {"lot": PACK}},
                ) as response:
                    body = await response.json()
                walls.append(time.perf_counter() - started)
            trace = body["data"]["trace"]
            requests = sum(
                1
                for log in federation.node_logs.values()
                for entry in log.entries
                if entry["txn"] == federation.node_logs["nordvolt"].entries[-1]["txn"]
            )
    return {
        "trace_ms_p50": round(statistics.median(walls[1:]) * 1000, 2),
        "node_requests": requests,
        "grants": issued() // (runs + 1),
        "edges": len(trace["edges"]),
        "lots": len(trace["lots"]),
    }


def main() -> int:
    crypto = asyncio.run(crypto_costs(300))
    trace = asyncio.run(trace_costs(30))
    per_request = crypto["mint_delegated_us"] + crypto["verify_delegated_us"]
    per_grant = crypto["issue_grant_us"] + crypto["verify_grant_us"]
    token_ms = (trace["node_requests"] * per_request + trace["grants"] * per_grant) / 1000
    results = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores",
        **crypto,
        "per_hop_us": round(per_request + per_grant, 1),
        **trace,
        "token_ms_per_trace": round(token_ms, 2),
        "token_share_of_trace": round(token_ms / trace["trace_ms_p50"], 3),
    }
    write_results(f"tokens-{results['date']}", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
