"""``oretrail graph``: run a local Neo4j, apply the schema, load seed data into it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from pathlib import Path

from oretrail.bootstrap import load_federation_config, load_seeds_into_neo4j
from oretrail.cli_args import neo4j_uri, port_number
from oretrail.config import default_graph_dir
from oretrail.store.cypher import apply_migrations, load_migrations, open_driver
from oretrail.store.neo4j_server import Neo4jServer
from oretrail.store.seed import check_links_against, load_seed

__all__ = ["add_graph_commands", "run_graph_command"]

DEFAULT_URI = "bolt://127.0.0.1:7687"


def add_graph_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    graph = commands.add_parser(
        "graph",
        help="the Neo4j side: local server, schema, seed loading",
        description="Run a local Neo4j 5.26 Community server built from Maven Central, apply "
        "the Cypher schema migrations, and load seed data into participants' node stores.",
    )
    actions = graph.add_subparsers(dest="graph_command", required=True, metavar="ACTION")
    server = actions.add_parser(
        "server",
        help="build (first time) and run a local Neo4j until interrupted",
        description="Build graph/server with Maven if needed and run Neo4j with Bolt on "
        "127.0.0.1. Prints a line starting 'oretrail-neo4j ready' when it accepts queries.",
    )
    server.add_argument("--port", type=port_number, default=7687, help="Bolt port (default 7687)")
    server.add_argument(
        "--data", type=Path, default=Path("var/neo4j"), help="data directory (default var/neo4j)"
    )
    server.add_argument("--heap", default="1g", help="JVM heap, e.g. 512m or 2g (default 1g)")
    init = actions.add_parser(
        "init",
        help="apply the schema migrations (idempotent)",
        description="Apply graph/migrations/*.cypher, each once.",
    )
    init.add_argument(
        "--uri", type=neo4j_uri, default=DEFAULT_URI, help=f"Neo4j URI (default {DEFAULT_URI})"
    )
    load = actions.add_parser(
        "load",
        help="load participants' seed files into their Neo4j node stores",
        description="Apply the migrations, then replace each named participant's node store "
        "with its seed file, one transaction per participant.",
    )
    load.add_argument(
        "--uri", type=neo4j_uri, default=DEFAULT_URI, help=f"Neo4j URI (default {DEFAULT_URI})"
    )
    load.add_argument(
        "--org",
        action="append",
        default=None,
        help="participant to load (repeatable; default: every seeded participant)",
    )


def run_graph_command(args: argparse.Namespace, config_dir: Path) -> int:
    graph_dir = default_graph_dir()
    if args.graph_command == "server":
        return _serve(graph_dir, args.port, args.data, args.heap)
    if args.graph_command == "init":
        applied = asyncio.run(_init(args.uri, graph_dir))
        print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
        return 0
    config = load_federation_config(config_dir)
    orgs = args.org or [p.id for p in config.registry.participants.values() if p.seed]
    participants = [config.registry.get(org) for org in orgs]
    check_links_against(
        (load_seed(p.seed) for p in participants if p.seed), config.registry.participants
    )
    loaded = asyncio.run(load_seeds_into_neo4j(args.uri, graph_dir, participants))
    for org, count in loaded:
        print(f"loaded {org}: {count} lots")
    return 0


def _serve(graph_dir: Path, port: int, data: Path, heap: str) -> int:
    server = Neo4jServer(graph_dir / "server", data.resolve(), port, heap=heap)
    print(f"Building and starting Neo4j (data in {data}) ...", flush=True)
    server.start()
    print(f"oretrail-neo4j ready {server.uri}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    assert server.process is not None
    while not stop.wait(0.5):
        if server.process.poll() is not None:
            print("Neo4j exited on its own:\n" + "\n".join(server.output[-20:]), flush=True)
            return 1
    server.stop()
    print("Neo4j stopped", flush=True)
    return 0


async def _init(uri: str, graph_dir: Path) -> list[str]:
    driver = open_driver(uri)
    try:
        return await apply_migrations(driver, load_migrations(graph_dir / "migrations"))
    finally:
        await driver.close()
