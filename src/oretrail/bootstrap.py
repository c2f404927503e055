"""The composition root: the one place that builds stores, apps and servers.

Importing this module does no I/O; everything happens in the functions below,
called by the CLI and by tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from oretrail.config import (
    GatewaySettings,
    Participant,
    Registry,
    load_gateway_settings,
    load_registry,
)
from oretrail.errors import ConfigError
from oretrail.gateway.app import build_gateway_app
from oretrail.node.app import build_node_app
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.seed import check_links_against, load_seed

__all__ = [
    "Federation",
    "FederationConfig",
    "bound_socket",
    "gateway_app",
    "load_federation_config",
    "node_app",
    "run_federation",
    "serve",
]


@dataclass(frozen=True, slots=True)
class FederationConfig:
    registry: Registry
    settings: GatewaySettings


def load_federation_config(config_dir: Path) -> FederationConfig:
    """The registry and gateway settings under a config directory."""
    return FederationConfig(
        registry=load_registry(config_dir / "registry.toml"),
        settings=load_gateway_settings(config_dir / "gateway.toml"),
    )


def node_app(participant: Participant, *, seed: Path | None = None, dev: bool = False) -> ASGIApp:
    """A node on the embedded store, loaded from the participant's seed file."""
    path = seed or participant.seed
    if path is None:
        raise ConfigError(f"participant {participant.id!r} has no seed file; pass --seed")
    data = load_seed(path)
    if data.organisation.id != participant.id:
        raise ConfigError(
            f"{path} holds organisation {data.organisation.id!r}, not {participant.id!r}"
        )
    return build_node_app(MemoryGraphStore(data), dev=dev)


def gateway_app(config: FederationConfig, *, dev: bool = False) -> ASGIApp:
    return build_gateway_app(config.registry, config.settings, dev=dev)


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket; port 0 picks a free port with no race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@dataclass(slots=True)
class Federation:
    """A running federation: where the gateway and each node answer."""

    gateway_url: str
    node_urls: dict[str, str] = field(default_factory=dict)


class _Servers:
    """uvicorn servers run as tasks of the current event loop."""

    def __init__(self) -> None:
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(self, app: ASGIApp, sock: socket.socket) -> None:
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self._servers.append((server, task))
        while not server.started:
            if task.done():
                task.result()  # re-raise why it could not start
                raise ConfigError(f"server for {_url(sock)} stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in self._servers), return_exceptions=True)
        self._servers.clear()


@contextlib.asynccontextmanager
async def run_federation(
    config: FederationConfig,
    *,
    replace_apps: Mapping[str, ASGIApp] | None = None,
    down: frozenset[str] = frozenset(),
    host: str = "127.0.0.1",
) -> AsyncIterator[Federation]:
    """Start every participant's node and the gateway on free loopback ports.

    ``replace_apps`` serves another app in place of a participant's node (fault
    tests); participants in ``down`` get an endpoint where nothing listens.
    """
    replace_apps = replace_apps or {}
    registry = config.registry
    seeded = [p for p in registry.participants.values() if p.seed is not None]
    check_links_against((load_seed(p.seed) for p in seeded if p.seed), registry.participants)
    servers = _Servers()
    endpoints: dict[str, str] = {}
    try:
        for participant in registry.participants.values():
            if participant.id in down:
                with bound_socket(host) as closed:
                    endpoints[participant.id] = _url(closed) + "/graphql"
                continue
            app = replace_apps.get(participant.id)
            if app is None and participant.seed is None:
                continue
            sock = bound_socket(host)
            await servers.start(app or node_app(participant), sock)
            endpoints[participant.id] = _url(sock) + "/graphql"
        federation_config = FederationConfig(registry.with_endpoints(endpoints), config.settings)
        gateway_sock = bound_socket(host)
        await servers.start(gateway_app(federation_config), gateway_sock)
        yield Federation(
            gateway_url=_url(gateway_sock) + "/graphql",
            node_urls={org: url for org, url in endpoints.items() if org not in down},
        )
    finally:
        await servers.stop()


async def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve one app until interrupted (``oretrail serve``)."""
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="auto")
    await uvicorn.Server(config).serve()
