"""Benchmark the witnessed access log: 1,000,000 appends, memory flat, cost per append.

    .venv/bin/python -m bench.log_bench [ENTRIES] [IN_FLIGHT]

Appends ENTRIES (default 1,000,000) entries shaped like a node's lots entry to a
log on disk, with IN_FLIGHT (default 256) requests waiting at once, as a busy
node's concurrent answers would: each append returns only once its entry, the
node hashes and a signed checkpoint covering it are fsynced (group commit), with
its receipt (index, checkpoint, inclusion proof). Reports the process's resident
memory after the first 10,000 entries and at the end (the target: growth under
50 MB), the mean cost per append (wall time, which the fsyncs dominate, and this
process's CPU time), the commits (fsync groups) and the files' size.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.results_file import write_results
from oretrail.auth.access_log import AccessLog, checkpoints_path, hashes_path
from oretrail.auth.checkpoint import log_origin
from oretrail.auth.keys import generate_signing_key
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import verify_receipt

WARM_UP = 10_000


def rss_mb() -> float:
    """The process's resident set now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def entry(n: int) -> dict[str, Any]:
    lot = f"urn:oretrail:lot:kasulo-coop:HG-2026-{n % 1000:03d}"
    return {
        "caller": "analyst@nordvolt",
        "org": "nordvolt",
        "on_behalf_of_via": "gateway",
        "purpose": "trace",
        "txn": f"txn-{n}",
        "query": "lots",
        "lots": [{"lot": lot, "status": "FOUND", "relations": ["downstream"], "given": []}],
        "req": f"{n:064x}",
        "digest": f"{n * 7:064x}",
    }


async def run(entries: int, in_flight: int, directory: Path) -> dict[str, Any]:
    key = generate_signing_key(node_issuer("kasulo-coop"), "kasulo-node-1")
    origin = log_origin("kasulo-coop")
    path = directory / "kasulo-coop.log"
    log = AccessLog(path, key, origin)
    last = None

    async def append(start: int, stop: int) -> None:
        """Append entries start..stop-1 with ``in_flight`` requests waiting at once."""
        numbers = iter(range(start, stop))

        async def worker() -> None:
            nonlocal last
            for n in numbers:  # shared: each worker takes the next number
                last = await log.append(entry(n))

        await asyncio.gather(*(worker() for _ in range(in_flight)))

    started = time.perf_counter()
    await append(0, WARM_UP)
    rss_warm = rss_mb()
    measured, cpu = time.perf_counter(), time.process_time()
    await append(WARM_UP, entries)
    elapsed = time.perf_counter() - measured
    cpu = time.process_time() - cpu
    rss_end = rss_mb()
    assert last is not None
    assert log.size == entries
    verify_receipt(last.to_json(), key.private.public_key(), origin)
    commits = len(checkpoints_path(path).read_bytes().splitlines())
    log.close()
    size = sum(p.stat().st_size for p in (path, hashes_path(path), checkpoints_path(path)))
    return {
        "entries": entries,
        "in_flight": in_flight,
        "rss_after_warm_up_mb": round(rss_warm, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_growth_mb": round(rss_end - rss_warm, 1),
        "append_us_mean": round(elapsed / (entries - WARM_UP) * 1e6, 1),
        "append_cpu_us_mean": round(cpu / (entries - WARM_UP) * 1e6, 1),
        "appends_per_s": round((entries - WARM_UP) / elapsed),
        "total_s": round(time.perf_counter() - started, 1),
        "commits": commits,
        "entries_per_commit": round(entries / commits, 1),
        "disk_mb": round(size / 1e6, 1),
    }


def main() -> int:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    in_flight = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    with tempfile.TemporaryDirectory() as directory:
        results = asyncio.run(run(entries, in_flight, Path(directory)))
    results = {"date": date.today().isoformat(), "machine": f"{os.cpu_count()} cores", **results}
    write_results(f"log-{entries}-{results['date']}", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
