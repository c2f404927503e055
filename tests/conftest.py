"""Shared fixtures: the repository's sample config, and a federation served in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from starlette.types import ASGIApp

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import Federation, FederationConfig, load_federation_config, run_federation
from oretrail.client import signed_headers
from oretrail.store.neo4j_server import running_server

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "config"
GRAPH_DIR = ROOT / "graph"
SEED_DIR = GRAPH_DIR / "seed"
PACK = "urn:oretrail:lot:nordvolt:PACK-2026-0412"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Neo4j server: the one `.ci/test` started, or one started here for this session.

    Neo4j is never optional: if it cannot be started the tests that need it fail.
    """
    given = os.environ.get("ORETRAIL_NEO4J_URI")
    if given:
        yield given
        return
    data = tmp_path_factory.mktemp("neo4j")
    with running_server(GRAPH_DIR / "server", data, free_port()) as server:
        yield server.uri


@pytest.fixture(scope="session")
def sample_config(tmp_path_factory: pytest.TempPathFactory) -> FederationConfig:
    """The repository's config, with the gateway's model journal in a temporary directory."""
    config = load_federation_config(CONFIG_DIR)
    model = replace(
        config.settings.model, store="memory", data_dir=tmp_path_factory.mktemp("model")
    )
    return replace(config, settings=replace(config.settings, model=model))


@contextlib.contextmanager
def served_federation(
    config: FederationConfig,
    *,
    replace_apps: Mapping[str, ASGIApp] | None = None,
    down: frozenset[str] = frozenset(),
    neo4j_uri: str | None = None,
    neo4j_nodes: frozenset[str] = frozenset(),
    log_dir: Path | None = None,
    keys: FederationKeys | None = None,
) -> Iterator[Federation]:
    """Run real uvicorn servers for a federation on a private event loop in a thread.

    The test's own loop stays free to act as an HTTP client, as a real caller would.
    """
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    holder: dict[str, Any] = {}

    async def main() -> None:
        nonlocal stop, loop
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            async with run_federation(
                config,
                replace_apps=replace_apps,
                down=down,
                neo4j_uri=neo4j_uri,
                neo4j_nodes=neo4j_nodes,
                log_dir=log_dir,
                keys=keys,
            ) as federation:
                holder["federation"] = federation
                ready.set()
                await stop.wait()
        except BaseException as exc:
            holder["error"] = exc
            ready.set()
            raise

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(30), "federation did not start within 30 s"
    if "error" in holder:
        raise holder["error"]
    try:
        yield holder["federation"]
    finally:
        assert loop is not None
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "federation did not stop within 30 s"


@pytest.fixture(scope="module")
def federation(sample_config: FederationConfig) -> Iterator[Federation]:
    """The healthy sample federation on the embedded store, shared within a test module."""
    with served_federation(sample_config) as running:
        yield running


@pytest.fixture(scope="module")
def neo4j_federation(sample_config: FederationConfig, neo4j_uri: str) -> Iterator[Federation]:
    """The sample federation with every node and the gateway's model on Neo4j."""
    model = replace(sample_config.settings.model, store="neo4j", neo4j_uri=neo4j_uri)
    config = replace(sample_config, settings=replace(sample_config.settings, model=model))
    nodes = frozenset(p.id for p in config.registry.participants.values() if p.seed)
    with served_federation(config, neo4j_uri=neo4j_uri, neo4j_nodes=nodes) as running:
        yield running


@pytest.fixture(params=["embedded", "neo4j"], scope="module")
def any_federation(request: pytest.FixtureRequest) -> Federation:
    """Each test that takes this runs once on the embedded store and once on Neo4j."""
    running: Federation = request.getfixturevalue(
        "federation" if request.param == "embedded" else "neo4j_federation"
    )
    return running


def oem_token(federation: Federation) -> UserIdentity:
    """A user of the sample pack's maker, its key certified by nordvolt's organisation key."""
    return federation.user("nordvolt")


def signed(
    federation: Federation, payload: Mapping[str, Any], org: str = "nordvolt"
) -> dict[str, str]:
    """Headers carrying a member user's signed request for exactly ``payload``."""
    return signed_headers(federation.user(org), payload)


async def graphql(
    url: str,
    query: str,
    variables: Mapping[str, Any] | None = None,
    *,
    token: UserIdentity | str | None = None,
) -> Any:
    """POST a GraphQL request over real HTTP and return the decoded JSON body.

    A user signs a request for exactly this query and these variables (as the
    client library does); a string is sent as a raw bearer token (hostile tests).
    """
    payload = {"query": query, "variables": dict(variables or {})}
    if isinstance(token, UserIdentity):
        headers = signed_headers(token, payload)
    else:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=payload, headers=headers) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()
