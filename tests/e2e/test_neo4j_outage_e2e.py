"""Neo4j killed mid-run: clear errors, an honest health check, recovery, nothing committed lost."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oretrail.bootstrap import FederationConfig
from oretrail.store.neo4j_server import Neo4jServer
from tests.conftest import GRAPH_DIR, PACK, free_port, graphql, oem_token, served_federation

pytestmark = pytest.mark.e2e

TRACE = "query($lot: ID!) { trace(lot: $lot) { recordId } }"
HISTORY = "{ traceHistory(limit: 100) { id } }"


async def health(url: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url.replace("/graphql", "/health")) as response,
    ):
        return response.status, await response.json()


async def test_the_gateway_survives_neo4j_being_killed_and_restarted(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    server = Neo4jServer(GRAPH_DIR / "server", tmp_path / "neo4j", free_port(), heap="512m")
    server.start()
    try:
        model = replace(sample_config.settings.model, store="neo4j", neo4j_uri=server.uri)
        config = replace(sample_config, settings=replace(sample_config.settings, model=model))
        with served_federation(config) as federation:
            url = federation.gateway_url
            token = oem_token(federation)
            first = await graphql(url, TRACE, {"lot": PACK}, token=token)
            committed = first["data"]["trace"]["recordId"]
            assert (await health(url))[0] == 200

            server.kill()  # SIGKILL: no checkpoint, no goodbye

            started = time.monotonic()
            refused = await graphql(url, TRACE, {"lot": PACK}, token=token)
            assert time.monotonic() - started < 30
            assert refused["data"] is None
            assert refused["errors"][0]["extensions"] == {"code": "STORE_UNAVAILABLE"}
            assert "could not be recorded" in refused["errors"][0]["message"]
            status, body = await health(url)
            assert status == 503
            assert body["status"] == "unavailable"
            assert "Neo4j is unavailable" in body["detail"]
            history = await graphql(url, HISTORY, token=token)
            assert history["errors"][0]["extensions"] == {"code": "STORE_UNAVAILABLE"}

            server.start()  # same port, same data directory: crash recovery

            for _ in range(120):
                if (await health(url))[0] == 200:
                    break
                await asyncio.sleep(0.5)
            assert (await health(url))[0] == 200, "the gateway did not recover by itself"
            again = await graphql(url, TRACE, {"lot": PACK}, token=token)
            recorded = again["data"]["trace"]["recordId"]
            ids = [
                r["id"] for r in (await graphql(url, HISTORY, token=token))["data"]["traceHistory"]
            ]
            assert sorted(ids) == sorted([committed, recorded])
    finally:
        server.stop()
