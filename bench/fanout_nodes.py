"""Serve the nodes of a synthetic federation, with injected latency, jitter and failures.

Run by ``bench.fanout_bench`` in processes of their own, so that the gateway's CPU
can be measured apart from the nodes'; with ``--shards N`` each of N processes
serves every N-th organisation of the registry. Writes ``{org: endpoint}`` as JSON
to the ports file once its nodes listen, then serves until terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
from pathlib import Path

import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from oretrail.auth.party_keys import load_node_key
from oretrail.auth.pinned import load_pinned
from oretrail.bootstrap import bound_socket, load_federation_config, node_app, node_security


class Injected:
    """Delays every GraphQL request by latency +- jitter; fails a share of them with 503."""

    def __init__(self, app: ASGIApp, latency: float, jitter: float, failure_rate: float) -> None:
        self._app = app
        self._latency = latency
        self._jitter = jitter
        self._failure_rate = failure_rate
        self._random = random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            delay = self._latency + self._random.uniform(-self._jitter, self._jitter)
            await asyncio.sleep(max(0.0, delay))
            if self._random.random() < self._failure_rate:
                await PlainTextResponse("injected failure", status_code=503)(scope, receive, send)
                return
        await self._app(scope, receive, send)


async def serve(args: argparse.Namespace) -> None:
    config = load_federation_config(args.config)
    servers = []
    endpoints = {}
    for index, participant in enumerate(config.registry.participants.values()):
        if index % args.shards != args.shard:
            continue  # served by another process
        # Each node: its own node key and its own copy of the pinned public keys.
        node_key = load_node_key(args.keys, participant.id)
        pinned = load_pinned(args.keys / "pinned.json")
        security = node_security(participant, node_key, pinned, config, None)
        app = Injected(
            node_app(participant, security),
            args.latency_ms / 1000,
            args.jitter_ms / 1000,
            args.failure_rate,
        )
        sock = bound_socket()
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        )
        servers.append((server, asyncio.create_task(server.serve(sockets=[sock]))))
        host, port = sock.getsockname()[:2]
        endpoints[participant.id] = f"http://{host}:{port}/graphql"
    while not all(server.started for server, _ in servers):  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    args.ports.write_text(json.dumps(endpoints), encoding="utf-8")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server, _ in servers:
        server.should_exit = True
    await asyncio.gather(*(task for _, task in servers), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--ports", type=Path, required=True)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=2.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--shards", type=int, default=1, help="node processes in all")
    parser.add_argument("--shard", type=int, default=0, help="which of them this one is")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
