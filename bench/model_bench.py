"""Benchmark the gateway's model stores: exposure and over-allocation on a large graph.

One command runs everything (it starts its own Neo4j and stops it):

    .venv/bin/python -m bench.model_bench                # 1,000,000 lots, ~3,000,000 links
    .venv/bin/python -m bench.model_bench --lots 50000   # a quick run

Each store is measured in a process of its own, so memory figures do not mix:
load time, p50/p95 latency of exposure (by lot) and over-allocation queries, and
memory (the Python process's RSS for the embedded store; the Neo4j JVM's RSS and
its store size on disk for Neo4j). Results go to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.results_file import write_results
from oretrail.bootstrap import neo4j_runner
from oretrail.config import checkout_root
from oretrail.store.cypher import apply_migrations, load_migrations
from oretrail.store.model_memory import MemoryModelStore
from oretrail.store.model_neo4j import Neo4jModelStore
from oretrail.store.model_port import (
    ModelEdge,
    ModelFacility,
    ModelLot,
    ModelStore,
    TraceRecord,
    TraceSummary,
)
from oretrail.store.neo4j_server import Neo4jServer

ROOT = checkout_root()
TIERS = 10
CHUNK = 10_000
TRACES = 1_000  # recorded traces of products, each its own transaction
# The model answers each organisation from its own records: one organisation records all.
BENCH_ORG = "bench"


@dataclass(frozen=True, slots=True)
class Shape:
    """A layered synthetic supply chain: tier 0 are mines, tier 9 products."""

    lots: int
    orgs_per_tier: int = 30
    window: int = 60  # inputs come from a window of the tier below: supply-chain locality
    seed: int = 7

    def tier_size(self) -> int:
        return self.lots // TIERS

    def lot_id(self, tier: int, index: int) -> str:
        return f"urn:oretrail:lot:t{tier}-org{index % self.orgs_per_tier}:L{index}"

    def owner(self, tier: int, index: int) -> str:
        return f"t{tier}-org{index % self.orgs_per_tier}"


def generate(shape: Shape) -> Iterator[TraceRecord]:
    """Bulk records, CHUNK consumer lots each, with stubs for the inputs they name."""
    rng = random.Random(shape.seed)
    size = shape.tier_size()
    at = datetime(2026, 11, 26, tzinfo=UTC)
    lots: list[ModelLot] = []
    edges: list[ModelEdge] = []
    stubs: dict[str, ModelLot] = {}
    number = 0
    for tier in range(TIERS):
        for index in range(size):
            lot_id = shape.lot_id(tier, index)
            facility = None
            if tier == 0:
                site = index // 100
                facility = ModelFacility(
                    f"urn:oretrail:facility:{shape.owner(0, index)}:site{site}",
                    shape.owner(0, index),
                    f"site {site}",
                    "mine",
                    "CD",
                    "X",
                )
            quantity = 1000.0
            lots.append(
                ModelLot(lot_id, shape.owner(tier, index), f"material-{tier}", quantity, facility)
            )
            if tier > 0:
                count = 3 if rng.random() < 0.5 else 4
                centre = index
                picks = {
                    min(size - 1, max(0, centre + rng.randint(-shape.window, shape.window)))
                    for _ in range(count)
                }
                for pick in picks:
                    input_id = shape.lot_id(tier - 1, pick)
                    # An input lot of 1,000 kg feeds about 3.45 consumers at 100 kg each;
                    # every thousandth lot is drawn far too hard (over-allocation).
                    kilograms = 100.0 if pick % 1000 else 900.0
                    edges.append(ModelEdge(lot_id, input_id, kilograms))
                    stubs.setdefault(input_id, ModelLot(input_id, shape.owner(tier - 1, pick)))
            if len(lots) >= CHUNK:
                yield _bulk(number, at, lots, edges, stubs)
                number += 1
                lots, edges, stubs = [], [], {}
    if lots:
        yield _bulk(number, at, lots, edges, stubs)


def _bulk(
    number: int,
    at: datetime,
    lots: list[ModelLot],
    edges: list[ModelEdge],
    stubs: dict[str, ModelLot],
) -> TraceRecord:
    own = {lot.id for lot in lots}
    extra = tuple(stub for key, stub in stubs.items() if key not in own)
    summary = TraceSummary(
        f"bulk-{number}", lots[0].id, BENCH_ORG, at, date(2026, 11, 26), 50, (), (), (), 0
    )
    return TraceRecord(summary, tuple(lots) + extra, tuple(edges))


def traces(shape: Shape, count: int) -> Iterator[TraceRecord]:
    """Small trace records of products (top tier), as callers would leave them."""
    rng = random.Random(shape.seed + 1)
    size = shape.tier_size()
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)
    for n in range(count):
        index = rng.randrange(size)
        root = ModelLot(shape.lot_id(TIERS - 1, index), shape.owner(TIERS - 1, index))
        summary = TraceSummary(
            f"trace-{n}",
            root.id,
            BENCH_ORG,
            at + timedelta(seconds=n),
            date(2026, 11, 26),
            20,
            ("Co",),
            (1.0,),
            (),
            0,
        )
        yield TraceRecord(summary, (root,), ())


def rss_kib(pid: int | None = None) -> int:
    status = Path(f"/proc/{pid or 'self'}/status").read_text(encoding="ascii")
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1])


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


async def measure(store: ModelStore, shape: Shape, queries: int) -> dict[str, Any]:
    started = time.perf_counter()
    lots = links = 0
    for record in generate(shape):
        await store.record_trace(record)
        lots += sum(1 for lot in record.lots if lot.material is not None)
        links += len(record.edges)
        elapsed = time.perf_counter() - started
        print(
            f"  loaded {lots:,} lots, {links:,} links in {elapsed:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    for record in traces(shape, TRACES):
        await store.record_trace(record)
    load_s = time.perf_counter() - started
    rng = random.Random(99)
    exposure = []
    for _ in range(queries):
        origin = shape.lot_id(0, rng.randrange(shape.tier_size()))
        t0 = time.perf_counter()
        await store.exposed_products(lot=origin, facility=None, caller=BENCH_ORG)
        exposure.append(time.perf_counter() - t0)
    over = []
    found = 0
    for _ in range(max(3, queries // 40)):
        t0 = time.perf_counter()
        found = len(await store.over_allocations(0.02, caller=BENCH_ORG))
        over.append(time.perf_counter() - t0)
    return {
        "lots": lots,
        "links": links,
        "traces": TRACES,
        "load_s": round(load_s, 1),
        "exposure": percentiles(exposure),
        "over_allocation": percentiles(over),
        "over_allocated_lots": found,
    }


async def run_memory(shape: Shape, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-") as scratch:
        before = rss_kib()
        store = MemoryModelStore(Path(scratch))
        result = await measure(store, shape, queries)
        result["rss_mib"] = round((rss_kib() - before) / 1024)
        journal = Path(scratch) / "model.jsonl"
        result["journal_mib"] = round(journal.stat().st_size / 2**20)
    return result


async def run_neo4j(shape: Shape, queries: int, heap: str) -> dict[str, Any]:
    graph = ROOT / "graph"
    with tempfile.TemporaryDirectory(prefix="oretrail-bench-neo4j-") as scratch:
        server = Neo4jServer(graph / "server", Path(scratch) / "data", _free_port(), heap=heap)
        server.start()
        try:
            async with neo4j_runner(server.uri, graph) as runner:
                await apply_migrations(runner.driver, load_migrations(graph / "migrations"))
                result = await measure(Neo4jModelStore(runner), shape, queries)
            assert server.process is not None
            result["neo4j_rss_mib"] = round(rss_kib(server.process.pid) / 1024)
            result["neo4j_heap"] = heap
            result["neo4j_pagecache"] = os.environ.get("ORETRAIL_NEO4J_PAGECACHE", "512m")
            result["store_on_disk_mib"] = round(_size(Path(scratch) / "data") / 2**20)
        finally:
            server.stop()
    return result


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lots", type=int, default=1_000_000, help="lots to generate")
    parser.add_argument("--queries", type=int, default=200, help="exposure queries per store")
    parser.add_argument("--store", choices=["memory", "neo4j", "both"], default="both")
    parser.add_argument("--heap", default="4g", help="Neo4j JVM heap (default 4g)")
    args = parser.parse_args()
    shape = Shape(lots=args.lots)
    if args.store != "both":
        runner = (
            run_memory(shape, args.queries)
            if args.store == "memory"
            else run_neo4j(shape, args.queries, args.heap)
        )
        print(json.dumps(asyncio.run(runner)))
        return 0
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "lots": args.lots,
        "machine": f"{os.cpu_count()} cores",
    }
    for store in ("memory", "neo4j"):
        print(f"== {store}", file=sys.stderr, flush=True)
        command = [
            sys.executable,
            "-m",
            "bench.model_bench",
            "--store",
            store,
            "--lots",
            str(args.lots),
            "--queries",
            str(args.queries),
            "--heap",
            args.heap,
        ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        sys.stderr.write(done.stderr[-2000:])
        if done.returncode != 0:
            print(f"{store} run failed", file=sys.stderr)
            return 1
        results[store] = json.loads(done.stdout.strip().splitlines()[-1])
    write_results(f"model-{args.lots}-{results['date']}", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
