"""The composition root: the one place that builds stores, apps and servers.

Importing this module does no I/O; everything happens in the functions below,
called by the CLI and by tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from oretrail.auth.access_log import AccessLog
from oretrail.auth.callers import UserIdentity
from oretrail.auth.checkpoint import log_origin
from oretrail.auth.claims import ClaimLedger
from oretrail.auth.keys import KeyRing, SigningKey, jwks_document
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.policy import load_policy
from oretrail.auth.principal import NodeAuthority
from oretrail.auth.roots import sign_root_list
from oretrail.auth.sealing import EncryptionKey
from oretrail.config import (
    GatewaySettings,
    ModelSettings,
    Participant,
    Registry,
    default_graph_dir,
    load_gateway_settings,
    load_registry,
)
from oretrail.domain.commodities import CommodityProfile
from oretrail.domain.model import parse_lot_id
from oretrail.domain.transparency import last_closed_period
from oretrail.due_diligence.profiles import PROFILE_DIR, load_profiles
from oretrail.errors import ConfigError, StoreUnavailable
from oretrail.gateway.app import GatewaySecurity, ModelOpener, build_gateway_app
from oretrail.gateway.approved import (
    ApprovedRegistry,
    Transparency,
    load_approved,
    load_product_lines,
    load_signed_roots,
    roots_key,
)
from oretrail.node.app import NodeSecurity, StoreOpener, build_node_app
from oretrail.node.shipment_log import ShipmentLog
from oretrail.store.cypher import (
    CypherRunner,
    NamedQueries,
    apply_migrations,
    load_migrations,
    open_driver,
)
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.model_memory import MemoryModelStore
from oretrail.store.model_neo4j import Neo4jModelStore
from oretrail.store.model_port import ModelStore
from oretrail.store.neo4j_store import Neo4jGraphStore, load_seed_into_neo4j
from oretrail.store.port import GraphStore
from oretrail.store.seed import check_links_against, load_seed

__all__ = [
    "Federation",
    "FederationConfig",
    "approve_as_members",
    "bound_socket",
    "gateway_app",
    "load_federation_config",
    "load_seeds_into_neo4j",
    "model_opener",
    "neo4j_runner",
    "node_app",
    "run_federation",
    "serve",
]

log = logging.getLogger("oretrail")


@dataclass(frozen=True, slots=True)
class FederationConfig:
    registry: Registry
    settings: GatewaySettings
    graph_dir: Path = field(default_factory=default_graph_dir)
    policy_dir: Path = Path("config/policies")
    transparency: Transparency = field(default_factory=lambda: Transparency(ApprovedRegistry(), {}))
    commodities: tuple[CommodityProfile, ...] = ()


def load_federation_config(config_dir: Path) -> FederationConfig:
    """The registry, gateway settings and node policies under a config directory."""
    return FederationConfig(
        registry=load_registry(config_dir / "registry.toml"),
        settings=load_gateway_settings(config_dir / "gateway.toml"),
        policy_dir=config_dir / "policies",
        transparency=Transparency(
            load_approved(config_dir / "approved"),
            load_product_lines(config_dir / "product_lines.toml"),
            load_signed_roots(config_dir / "product_lines.roots.json"),
        ),
        commodities=load_profiles(config_dir / PROFILE_DIR)
        if (config_dir / PROFILE_DIR).is_dir()
        else (),
    )


def node_security(  # noqa: PLR0917 - what a node is built from, each by its name
    participant: Participant,
    node_key: SigningKey,
    pinned: PinnedRegistry,
    config: FederationConfig,
    log_dir: Path | None,
    encryption_key: EncryptionKey | None = None,
) -> NodeSecurity:
    """A node's authority (its node key, its pinned registry copy, its claim ledger), its
    policy, its access log and its shipments log (``<org>.log``, ``<org>.shipments.log``
    under ``log_dir``, in memory without one). Nothing here holds another party's
    private key."""
    ledger = ClaimLedger(None if log_dir is None else log_dir / f"{participant.id}.claims.jsonl")
    authority = NodeAuthority(participant.id, node_key, pinned, ledger, encryption_key)
    policy = load_policy(config.policy_dir / f"{participant.id}.toml")
    log = AccessLog(
        None if log_dir is None else log_dir / f"{participant.id}.log",
        node_key,
        log_origin(participant.id),
    )
    shipments = AccessLog(
        None if log_dir is None else log_dir / f"{participant.id}.shipments.log",
        node_key,
        log_origin(participant.id, "shipments"),
    )
    return NodeSecurity(
        authority,
        policy,
        log,
        jwks_document([node_key.trusted()]),
        node_key,
        ShipmentLog(shipments),
    )


@contextlib.asynccontextmanager
async def neo4j_runner(uri: str, graph_dir: Path) -> AsyncIterator[CypherRunner]:
    """One driver for the lifetime of the block, closed after."""
    driver = open_driver(uri)
    try:
        yield CypherRunner(driver, NamedQueries(graph_dir / "queries"))
    finally:
        await driver.close()


def node_app(
    participant: Participant,
    security: NodeSecurity,
    *,
    seed: Path | None = None,
    neo4j_uri: str | None = None,
    graph_dir: Path | None = None,
    dev: bool = False,
) -> ASGIApp:
    """A participant's node on the embedded store (its seed file) or on Neo4j."""
    graphs = graph_dir or default_graph_dir()
    opener: StoreOpener
    if neo4j_uri is not None:
        uri = neo4j_uri

        @contextlib.asynccontextmanager
        async def on_neo4j() -> AsyncIterator[GraphStore]:
            async with neo4j_runner(uri, graphs) as runner:
                yield Neo4jGraphStore(runner, participant.id)

        opener = on_neo4j
    else:
        path = seed or participant.seed
        if path is None:
            raise ConfigError(f"participant {participant.id!r} has no seed file; pass --seed")
        data = load_seed(path)  # now, so a broken seed stops the command before it serves
        if data.organisation.id != participant.id:
            raise ConfigError(
                f"{path} holds organisation {data.organisation.id!r}, not {participant.id!r}"
            )

        @contextlib.asynccontextmanager
        async def in_memory() -> AsyncIterator[GraphStore]:
            yield MemoryGraphStore(data)

        opener = in_memory
    # An auditor's published status lists live beside its seed: <seed dir>/status/<org>/.
    where = seed or participant.seed
    status_lists = where.parent / "status" / participant.id if where is not None else None
    return build_node_app(opener, security, dev=dev, status_lists=status_lists)


def model_opener(settings: ModelSettings, graph_dir: Path) -> ModelOpener:
    """Opens the gateway's model store as the settings say, for the app's lifetime."""

    @contextlib.asynccontextmanager
    async def on_neo4j() -> AsyncIterator[ModelStore]:
        async with neo4j_runner(settings.neo4j_uri, graph_dir) as runner:
            try:
                await apply_migrations(runner.driver, load_migrations(graph_dir / "migrations"))
            except StoreUnavailable as exc:
                log.warning(
                    "model schema not checked, Neo4j is down (will retry per call): %s", exc
                )
            yield Neo4jModelStore(runner)

    @contextlib.asynccontextmanager
    async def in_memory() -> AsyncIterator[ModelStore]:
        yield MemoryModelStore(settings.data_dir)

    return on_neo4j if settings.store == "neo4j" else in_memory


def gateway_app(
    config: FederationConfig, gateway_key: SigningKey, pinned: PinnedRegistry, *, dev: bool = False
) -> ASGIApp:
    """The gateway, with its own key and its own pinned copy of members' public keys."""
    opener = model_opener(config.settings.model, config.graph_dir)
    # Every approved query must carry a valid approval by each of its approvers,
    # or the gateway does not start.
    ring = KeyRing()
    for record in pinned.members.values():
        for key in record.org_keys:
            ring.add(key)
    config.transparency.queries.verify(ring)
    security = GatewaySecurity(
        gateway_key,
        pinned,
        jwks_document([gateway_key.trusted()]),
        config.transparency,
        config.commodities,
    )
    return build_gateway_app(config.registry, config.settings, opener, security, dev=dev)


async def load_seeds_into_neo4j(
    uri: str, graph_dir: Path, participants: list[Participant]
) -> list[tuple[str, int]]:
    """Apply the migrations, then replace each participant's Neo4j node store with its seed."""
    seeds = []
    for participant in participants:
        if participant.seed is None:
            raise ConfigError(f"participant {participant.id!r} has no seed file in the registry")
        seeds.append(load_seed(participant.seed))
    async with neo4j_runner(uri, graph_dir) as runner:
        await apply_migrations(runner.driver, load_migrations(graph_dir / "migrations"))
        return [(seed.organisation.id, await load_seed_into_neo4j(runner, seed)) for seed in seeds]


def approve_as_members(config: FederationConfig, keys: FederationKeys) -> None:
    """Sign every approved query with the organisation keys of the members it names as
    approvers, and each product line's root list with its owner's (demo, tests)."""
    approvers = {a for q in config.transparency.queries.queries.values() for a in q.approvers}
    for org in sorted(approvers):
        config.transparency.queries.approve(keys.member(org).org_key, org)
    # Root lists for the last closed period of each kind the queries declare.
    kinds = {q.period for q in config.transparency.queries.queries.values()}
    periods = sorted(last_closed_period(datetime.now(UTC), kind).label for kind in kinds)
    for line, products in config.transparency.product_lines.items():
        owner = parse_lot_id(products[0]).org
        for period in periods:
            config.transparency.signed_roots[roots_key(line, period)] = sign_root_list(
                keys.member(owner).org_key, line, products, period
            )


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket; port 0 picks a free port with no race.

    Created with ``IPPROTO_TCP`` named: asyncio turns Nagle's algorithm off only on
    connections whose socket says so, and with it on, a response written as headers
    then body waited for the client's delayed ACK: 40 ms on every kept-alive request.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
    keys: FederationKeys
    node_urls: dict[str, str] = field(default_factory=dict)
    node_logs: dict[str, AccessLog] = field(default_factory=dict)
    node_security: dict[str, NodeSecurity] = field(default_factory=dict)

    transparency_signed_roots: dict[str, str] = field(default_factory=dict)

    def transparency_roots(self, line: str, period: str | None = None) -> str:
        """The root list of a product line for ``period`` (default: the last closed
        quarter) as its owner signed it (what the gateway holds)."""
        period = period or last_closed_period(datetime.now(UTC)).label
        return self.transparency_signed_roots[roots_key(line, period)]

    def user(self, org: str, sub: str | None = None) -> UserIdentity:
        """A user of a member organisation, its key certified by the organisation's key."""
        return self.keys.user(org, sub)


class _Servers:
    """uvicorn servers run as tasks of the current event loop."""

    def __init__(self) -> None:
        self._servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(self, app: ASGIApp, sock: socket.socket) -> None:
        # A node stuck in a slow handler must not hold the federation's shutdown for long.
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, timeout_graceful_shutdown=2
        )
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
    neo4j_uri: str | None = None,
    neo4j_nodes: frozenset[str] = frozenset(),
    keys: FederationKeys | None = None,
    log_dir: Path | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[Federation]:
    """Start every participant's node and the gateway on free loopback ports.

    ``replace_apps`` serves another app in place of a participant's node (fault
    tests); participants in ``down`` get an endpoint where nothing listens; those in
    ``neo4j_nodes`` are loaded into and served from the Neo4j at ``neo4j_uri``.
    """
    replace_apps = replace_apps or {}
    registry = config.registry
    seeded = [p for p in registry.participants.values() if p.seed is not None]
    check_links_against((load_seed(p.seed) for p in seeded if p.seed), registry.participants)
    if neo4j_nodes:
        if neo4j_uri is None:
            raise ConfigError("nodes on Neo4j need a Neo4j URI")
        await load_seeds_into_neo4j(
            neo4j_uri, config.graph_dir, [registry.get(org) for org in sorted(neo4j_nodes)]
        )
    if keys is None:
        # A federation of fresh keys: its members approve the sample queries now, as
        # `oretrail approved approve` would with their real keys.
        keys = FederationKeys.generate(registry.participants)
        approve_as_members(config, keys)
    roles = {org: [str(r) for r in p.roles] for org, p in registry.participants.items()}
    servers = _Servers()
    endpoints: dict[str, str] = {}
    logs: dict[str, AccessLog] = {}
    securities: dict[str, NodeSecurity] = {}
    try:
        for participant in registry.participants.values():
            if participant.id in down:
                with bound_socket(host) as closed:
                    endpoints[participant.id] = _url(closed) + "/graphql"
                continue
            app = replace_apps.get(participant.id)
            if app is None and (participant.id in neo4j_nodes or participant.seed is not None):
                # Each node gets its own key and its own copy of the public keys.
                security = node_security(
                    participant,
                    keys.member(participant.id).node_key,
                    keys.pinned(roles),
                    config,
                    log_dir,
                    keys.member(participant.id).enc_key,
                )
                logs[participant.id] = security.log
                securities[participant.id] = security
                on_neo4j = neo4j_uri if participant.id in neo4j_nodes else None
                app = node_app(
                    participant, security, neo4j_uri=on_neo4j, graph_dir=config.graph_dir
                )
            if app is None:
                continue
            sock = bound_socket(host)
            await servers.start(app, sock)
            endpoints[participant.id] = _url(sock) + "/graphql"
        running = replace(config, registry=registry.with_endpoints(endpoints))
        gateway_sock = bound_socket(host)
        await servers.start(
            gateway_app(running, keys.gateway, keys.pinned(roles, endpoints)), gateway_sock
        )
        yield Federation(
            gateway_url=_url(gateway_sock) + "/graphql",
            keys=keys,
            node_urls={org: url for org, url in endpoints.items() if org not in down},
            node_logs=logs,
            node_security=securities,
            transparency_signed_roots=dict(config.transparency.signed_roots),
        )
    finally:
        await servers.stop()


async def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve one app until interrupted (``oretrail serve``).

    The address is bound first, so one that cannot be used (taken, not this host's,
    not a port) is a ConfigError saying so rather than a server that logs and exits.
    """
    try:
        sock = bound_socket(host, port)
    except (OSError, OverflowError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
    config = uvicorn.Config(app, log_level="info", lifespan="on")
    with sock:
        await uvicorn.Server(config).serve(sockets=[sock])
