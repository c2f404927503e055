"""Benchmark trace fan-out against its lower bounds and two baseline planners.

    .venv/bin/python -m bench.fanout_bench                 # the target federation
    .venv/bin/python -m bench.fanout_bench --lots-per-tier 60 --root-inputs 10 --fan-in 3

Generates a synthetic federation (bench/synthetic.py), serves its nodes in
separate processes (one per organisation of a tier, so siblings answer in
parallel) with injected latency, jitter and failures (bench/fanout_nodes.py), and
runs the gateway's planner in this process, so its CPU is measured alone.
Reports per trace (medians of --repeat traces): wall time, the critical-path
lower bound (levels x latency), their ratio, requests against the per-node batch
lower bound (one request per organisation reached), gateway CPU per lot and the
node servers' CPU; the gateway's CPU for a trace of 10,108 lots; the same for two
baselines (one request per lot in sequence; level-by-level batching) on a small
federation; and throughput with latency percentiles for N concurrent traces.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp

from bench.results_file import write_results
from bench.synthetic import Topology, write_federation
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.requests import RequestContext, sign_request, verify_request
from oretrail.bootstrap import load_federation_config
from oretrail.config import Participant, Registry
from oretrail.domain.model import parse_lot_id
from oretrail.errors import NodeCallError
from oretrail.gateway.context import NodeHeaders
from oretrail.gateway.node_client import GrantPass, HttpNodeClient, LotReply, NodeCredential
from oretrail.gateway.tracing import TraceReport, run_trace


class CountingClient(HttpNodeClient):
    """The real node client, counting requests per organisation."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        super().__init__(session, timeout=60.0)
        self.requests: dict[str, int] = defaultdict(int)
        self.errors = 0

    async def fetch_lots(
        self,
        node: Participant,
        ids: Sequence[str],
        credential: NodeCredential | None = None,
        timeout: float | None = None,
    ) -> dict[str, LotReply]:
        self.requests[node.id] += 1
        return await super().fetch_lots(node, ids, credential, timeout)


class Federation:
    """A synthetic federation served by child processes, and the clients to trace it.

    Sibling organisations (consecutive in the registry) are served by different
    processes, so that their answers are not computed one after another on one core.
    """

    def __init__(
        self,
        topology: Topology,
        latency_ms: float,
        jitter_ms: float,
        failure_rate: float,
        scratch: Path,
    ) -> None:
        self.topology = topology
        self.latency = latency_ms / 1000
        config_dir = write_federation(topology, scratch)
        self.config = load_federation_config(config_dir)
        self.keys = FederationKeys.generate(self.config.registry.participants)
        self.keys.save(scratch / "keys")
        roles = {org: ["REFINER"] for org in self.config.registry.participants}
        self.pinned = self.keys.pinned(roles)
        (scratch / "keys" / "pinned.json").write_text(
            json.dumps(self.pinned.to_json()), encoding="utf-8"
        )
        self.user = self.keys.user("oem", "bench@oem")
        shards = topology.orgs_per_tier
        command = [
            sys.executable,
            "-m",
            "bench.fanout_nodes",
            "--config",
            str(config_dir),
            "--keys",
            str(scratch / "keys"),
            "--latency-ms",
            str(latency_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--failure-rate",
            str(failure_rate),
            "--shards",
            str(shards),
        ]
        ports = [scratch / f"ports-{shard}.json" for shard in range(shards)]
        self.processes = [
            subprocess.Popen(  # noqa: S603 - our own module, fixed argv
                [*command, "--shard", str(shard), "--ports", str(ports[shard])]
            )
            for shard in range(shards)
        ]
        deadline = time.monotonic() + 300
        while not all(p.exists() for p in ports):
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the node servers did not start")
            time.sleep(0.2)
        endpoints: dict[str, str] = {}
        for path in ports:
            endpoints.update(json.loads(path.read_text(encoding="utf-8")))
        self.registry: Registry = self.config.registry.with_endpoints(endpoints)

    def node_cpu(self) -> float | None:
        """CPU seconds the node servers' processes have used so far (Linux), else None."""
        total = 0.0
        for process in self.processes:
            try:
                stat = Path(f"/proc/{process.pid}/stat").read_text(encoding="ascii")
            except OSError:
                return None
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    async def headers(self, n: int) -> NodeHeaders:
        """The headers of trace ``n``: a fresh signed request of the OEM's user, as the
        gateway forwards it, with a gateway token minted per call."""
        context = RequestContext(op="trace", roots=(self.topology.root,), depth=50, purpose=str(n))
        token = sign_request(self.user, context, lifetime=300)
        request = await verify_request(token, self.user.certificate, self.pinned.org_keys)
        return NodeHeaders(self.keys.gateway, request, None)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(60)


async def trace(fed: Federation, client: CountingClient, n: int) -> TraceReport:
    """The gateway's trace of the federation's product, as trace number ``n``."""
    return await run_trace(
        fed.topology.root,
        50,
        None,
        registry=fed.registry,
        client=client,
        settings=fed.config.settings,
        mint_token=await fed.headers(n),
    )


async def trace_once(fed: Federation, client: CountingClient, n: int) -> dict[str, Any]:
    client.requests.clear()
    node_cpu = fed.node_cpu()
    cpu, wall = time.process_time(), time.perf_counter()
    report = await trace(fed, client, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    node_cpu_after = fed.node_cpu()
    lots = len(report.graph.lots)
    levels = fed.topology.tiers + 1
    critical = levels * fed.latency
    reached = {lot.owner for lot in report.graph.lots.values()}
    requests = sum(client.requests.values())
    return {
        "lots": lots,
        "gaps": len(report.attribution.gaps),
        "gap_reasons": dict(Counter(str(g.reason) for g in report.attribution.gaps)),
        "gap_example": next((g.detail for g in report.attribution.gaps), None),
        "wall_s": round(wall, 3),
        "critical_path_s": round(critical, 3),
        "wall_over_critical": round(wall / critical, 2),
        "requests": requests,
        "batch_lower_bound": len(reached),
        "requests_over_bound": round(requests / len(reached), 2),
        "gateway_cpu_s": round(cpu, 3),
        "gateway_cpu_ms_per_lot": round(cpu / lots * 1000, 3),
        "nodes_cpu_s": None
        if node_cpu is None or node_cpu_after is None
        else round(node_cpu_after - node_cpu, 3),
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (ratios from the medians), and every run."""
    summary: dict[str, Any] = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            summary[key] = statistics.median(values)
    summary["wall_over_critical"] = round(summary["wall_s"] / summary["critical_path_s"], 2)
    summary["requests_over_bound"] = round(summary["requests"] / summary["batch_lower_bound"], 2)
    summary["gateway_cpu_ms_per_lot"] = round(summary["gateway_cpu_s"] / summary["lots"] * 1000, 3)
    summary["runs"] = runs
    return summary


Baseline = Callable[[Federation, CountingClient, NodeHeaders], Awaitable[int]]


async def _ask(
    fed: Federation,
    client: CountingClient,
    headers: NodeHeaders,
    grants: dict[str, GrantPass],
    *,
    owner: str,
    ids: list[str],
) -> list[str]:
    """One request for ``ids``; the inputs it reveals, with their grants remembered."""
    replies: dict[str, LotReply] = {}
    for attempt in range(2):  # a stale keep-alive connection gets one more try
        passes = [grants[i] for i in ids if i in grants]
        presented = tuple(dict.fromkeys(g for p in passes for g in (p.grant, *p.chain)))
        credential = NodeCredential(headers(owner), presented)
        try:
            replies = await client.fetch_lots(fed.registry.get(owner), ids, credential)
            break
        except NodeCallError:
            if attempt:
                client.errors += 1
                return []
    found = []
    for reply in replies.values():
        for link in reply.lot.inputs if reply.lot else ():
            if link.grant:
                grants.setdefault(link.lot, GrantPass(link.lot, link.grant, credential.grants))
            found.append(link.lot)
    return found


async def one_per_lot(fed: Federation, client: CountingClient, headers: NodeHeaders) -> int:
    """Baseline: one request per lot, one after the other."""
    grants: dict[str, GrantPass] = {}
    seen, queue = {fed.topology.root}, [fed.topology.root]
    while queue:
        lot = queue.pop(0)
        for found in await _ask(
            fed, client, headers, grants, owner=parse_lot_id(lot).org, ids=[lot]
        ):
            if found not in seen:
                seen.add(found)
                queue.append(found)
    return len(seen)


async def level_by_level(fed: Federation, client: CountingClient, headers: NodeHeaders) -> int:
    """Baseline: all of a level's lots batched per node, each level after the last."""
    grants: dict[str, GrantPass] = {}
    seen, level = {fed.topology.root}, [fed.topology.root]
    while level:
        by_owner: dict[str, list[str]] = defaultdict(list)
        for lot in level:
            by_owner[parse_lot_id(lot).org].append(lot)
        answers = await asyncio.gather(
            *(
                _ask(fed, client, headers, grants, owner=owner, ids=ids)
                for owner, ids in by_owner.items()
            )
        )
        level = []
        for found in (lot for answer in answers for lot in answer):
            if found not in seen:
                seen.add(found)
                level.append(found)
    return len(seen)


async def run_baseline(
    fed: Federation, client: CountingClient, baseline: Baseline, n: int
) -> dict[str, Any]:
    client.requests.clear()
    client.errors = 0
    wall = time.perf_counter()
    lots = await baseline(fed, client, await fed.headers(n))
    wall = time.perf_counter() - wall
    critical = (fed.topology.tiers + 1) * fed.latency
    return {
        "lots": lots,
        "wall_s": round(wall, 3),
        "wall_over_critical": round(wall / critical, 2),
        "requests": sum(client.requests.values()),
        "errors": client.errors,
    }


async def concurrent(fed: Federation, client: CountingClient, count: int) -> dict[str, Any]:
    async def one(n: int) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            report = await trace(fed, client, 10_000 + n)
            ok = not report.attribution.gaps
        except Exception:  # noqa: BLE001 - any failure counts as an error here
            ok = False
        return time.perf_counter() - started, ok

    started = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(count)))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] for r in results)
    return {
        "traces": count,
        "errors": sum(1 for _, ok in results if not ok),
        "throughput_per_s": round(count / elapsed, 2),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(latencies[int(0.95 * (count - 1))], 3),
    }


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    target = Topology(
        args.tiers, args.orgs_per_tier, args.lots_per_tier, args.root_inputs, args.fan_in
    )
    small = Topology(args.tiers, args.orgs_per_tier, 40, 6, 2)
    # 1,250 lots per tier: a trace of 10,108 lots, for the gateway's CPU target.
    ten_thousand = Topology(args.tiers, args.orgs_per_tier, 1250, args.root_inputs, args.fan_in)
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores",
        "latency_ms": args.latency_ms,
        "jitter_ms": args.jitter_ms,
        "failure_rate": args.failure_rate,
    }
    sections = [("target", target), ("ten_thousand", ten_thousand), ("small", small)]
    for name, topology in sections:
        with tempfile.TemporaryDirectory(prefix="oretrail-fanout-") as scratch:
            fed = Federation(
                topology, args.latency_ms, args.jitter_ms, args.failure_rate, Path(scratch)
            )
            if args.coalesce_ms is not None:
                resilience = replace(
                    fed.config.settings.resilience, coalesce_window=args.coalesce_ms / 1000
                )
                fed.config = replace(
                    fed.config, settings=replace(fed.config.settings, resilience=resilience)
                )
            results["coalesce_ms"] = fed.config.settings.resilience.coalesce_window * 1000
            try:
                async with aiohttp.ClientSession() as session:
                    client = CountingClient(session)
                    section: dict[str, Any] = {
                        "topology": {
                            "tiers": topology.tiers,
                            "orgs": len(topology.orgs()),
                            "lots_per_tier": topology.lots_per_tier,
                            "fan_in": topology.fan_in,
                        }
                    }
                    await trace_once(fed, client, 0)  # warm up connections and caches
                    runs = [await trace_once(fed, client, n) for n in range(1, args.repeat + 1)]
                    section["planner"] = medians(runs)
                    print(f"{name} planner: {section['planner']}", file=sys.stderr, flush=True)
                    if name == "small":
                        section["one_request_per_lot"] = await run_baseline(
                            fed, client, one_per_lot, 1000
                        )
                        section["level_by_level"] = await run_baseline(
                            fed, client, level_by_level, 1001
                        )
                        section["concurrent"] = await concurrent(fed, client, args.concurrent)
                    results[name] = section
            finally:
                fed.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tiers", type=int, default=10)
    parser.add_argument("--orgs-per-tier", type=int, default=3)
    parser.add_argument("--lots-per-tier", type=int, default=600)
    parser.add_argument("--root-inputs", type=int, default=60)
    parser.add_argument("--fan-in", type=int, default=6)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=2.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument(
        "--repeat", type=int, default=5, help="planner traces per federation (median reported)"
    )
    parser.add_argument(
        "--coalesce-ms",
        type=float,
        default=None,
        help="the planner's coalescing window (default: the gateway's setting)",
    )
    args = parser.parse_args()
    results = asyncio.run(measure(args))
    write_results(f"fanout-{results['date']}", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
