"""Benchmark the cost of the trust chain per hop, and its share of a real trace's time.

    .venv/bin/python -m bench.token_bench

Per request to a node the gateway mints its own token and the node verifies the
caller's certificate, the caller's signed request and the gateway's token; for
the inputs it reveals the node signs one continuation grant per supplier, and the
next node verifies that grant and its chain back to the root. The share of trace
time multiplies those costs by the requests and grants of a trace of the sample
pack, served by real uvicorn servers on loopback, and divides by that trace's
measured wall time.
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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp

from bench.results_file import write_results
from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.grants import ContinuationGrant, GrantIssuer, InputLink
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.principal import NodeAuthority
from oretrail.auth.requests import RequestContext, SignedRequest, sign_request
from oretrail.auth.tokens import token_hash
from oretrail.bootstrap import load_federation_config, run_federation
from oretrail.client import signed_headers
from oretrail.config import ModelSettings, checkout_root
from oretrail.report import TRACE_QUERY

ROOT = checkout_root()
PACK = "urn:oretrail:lot:nordvolt:PACK-2026-0412"
CELL = "urn:oretrail:lot:aurora-cells:CELL-2026-1187"
SULFATE = "urn:oretrail:lot:boreal-cobalt:CS-2026-102"
HYDROXIDE = "urn:oretrail:lot:copperbelt-trading:CH-2026-014"
MADE = date(2026, 4, 10)


async def timed(n: int, operation: Callable[[int], Awaitable[Any]]) -> float:
    """Median microseconds of ``operation`` over ``n`` runs."""
    samples = []
    for i in range(n):
        started = time.perf_counter()
        await operation(i)
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1e6, 1)


async def crypto_costs(n: int) -> dict[str, float]:
    orgs = ["nordvolt", "aurora-cells", "boreal-cobalt", "copperbelt-trading"]
    keys = FederationKeys.generate(orgs)
    pinned = keys.pinned({org: [] for org in orgs})
    user = keys.user("nordvolt")
    context = RequestContext(
        op="trace", roots=(PACK,), depth=20, as_of=datetime.now(UTC), doc="d", vars="v"
    )
    requests = [sign_request(user, context) for _ in range(n)]
    refiner = NodeAuthority("boreal-cobalt", keys.member("boreal-cobalt").node_key, pinned)
    trader = NodeAuthority("copperbelt-trading", keys.member("copperbelt-trading").node_key, pinned)
    gateway_tokens = [gateway_token(keys.gateway, "boreal-cobalt", token_hash(r)) for r in requests]
    verified: list[SignedRequest] = [
        (await refiner.principal(r, user.certificate, g)).request
        for r, g in zip(requests, gateway_tokens, strict=True)
    ]
    issuer = GrantIssuer("boreal-cobalt", keys.member("boreal-cobalt").node_key)
    # A chain of three: nordvolt opens the cell, aurora the sulfate, boreal the hydroxide.
    chains = []
    for request in verified:
        [g0] = GrantIssuer("nordvolt", keys.member("nordvolt").node_key).issue(
            request, [InputLink(PACK, MADE, 0, None, CELL, 1000.0)]
        )
        [g1] = GrantIssuer("aurora-cells", keys.member("aurora-cells").node_key).issue(
            request, [InputLink(CELL, MADE, 1, token_hash(g0.grant), SULFATE, 900.0)]
        )
        [g2] = issuer.issue(
            request, [InputLink(SULFATE, MADE, 2, token_hash(g1.grant), HYDROXIDE, 800.0)]
        )
        chains.append([g2.grant, g1.grant, g0.grant])
    hundred = [
        InputLink(SULFATE, MADE, 2, None, f"urn:oretrail:lot:copperbelt-trading:CH-{i}", 1.0)
        for i in range(100)
    ]
    fresh = [gateway_token(keys.gateway, "boreal-cobalt", token_hash(r)) for r in requests]

    async def mint_gateway_token(i: int) -> str:
        return gateway_token(keys.gateway, "boreal-cobalt", token_hash(requests[i]))

    async def verify_request_at_node(i: int) -> object:
        return await refiner.principal(requests[i], user.certificate, fresh[i])

    async def issue_grant(i: int) -> object:
        return issuer.issue(verified[i], [hundred[0]])

    async def issue_grant_100(i: int) -> object:
        return issuer.issue(verified[i], hundred)

    async def verify_chain_of_three(i: int) -> object:
        request = verified[i]
        return await trader.verifier.claims(request, frozenset(request.context.roots), chains[i])

    return {
        "mint_gateway_token_us": await timed(n, mint_gateway_token),
        "verify_request_at_node_us": await timed(n, verify_request_at_node),
        "issue_grant_us": await timed(n, issue_grant),
        "issue_grant_100_links_us": await timed(n, issue_grant_100),
        "verify_chain_of_three_us": await timed(n, verify_chain_of_three),
    }


async def trace_costs(runs: int) -> dict[str, Any]:
    issued = 0
    issue = GrantIssuer.issue

    def counting(
        self: GrantIssuer, request: SignedRequest, links: Iterable[InputLink]
    ) -> list[ContinuationGrant]:
        nonlocal issued
        continuations = issue(self, request, links)
        issued += len(continuations)
        return continuations

    with mock.patch.object(GrantIssuer, "issue", counting):
        return await _trace_costs(runs, lambda: issued)


async def _trace_costs(runs: int, issued: Callable[[], int]) -> dict[str, Any]:
    config = load_federation_config(ROOT / "config")
    with tempfile.TemporaryDirectory() as scratch:
        model = ModelSettings(store="memory", data_dir=Path(scratch))
        config = replace(config, settings=replace(config.settings, model=model))
        async with run_federation(config) as federation, aiohttp.ClientSession() as session:
            user = federation.user("nordvolt")
            payload = {"query": TRACE_QUERY, "variables": {"lot": PACK}}
            walls = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                async with session.post(
                    federation.gateway_url, headers=signed_headers(user, payload), json=payload
                ) as response:
                    body = await response.json()
                walls.append(time.perf_counter() - started)
            trace = body["data"]["trace"]
            last_txn = federation.node_logs["nordvolt"].records()[-1]["txn"]
            requests = sum(
                1
                for log in federation.node_logs.values()
                for entry in log.records()
                if entry["txn"] == last_txn
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
    per_request = crypto["mint_gateway_token_us"] + crypto["verify_request_at_node_us"]
    # A chain of three is verified once per request and cached after; counted in full.
    per_grant = crypto["issue_grant_us"] + crypto["verify_chain_of_three_us"]
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
