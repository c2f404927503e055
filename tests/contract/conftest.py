"""Store fixtures: every contract test runs once per adapter, Neo4j included."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import neo4j
import pytest

from oretrail.store.cypher import (
    CypherRunner,
    NamedQueries,
    apply_migrations,
    load_migrations,
    open_driver,
)
from tests.conftest import GRAPH_DIR


@pytest.fixture
async def runner(neo4j_uri: str) -> AsyncIterator[CypherRunner]:
    """A Neo4j runner on an empty database with the schema migrations applied."""
    driver: neo4j.AsyncDriver = open_driver(neo4j_uri)
    await apply_migrations(driver, load_migrations(GRAPH_DIR / "migrations"))
    await driver.execute_query("MATCH (n) WHERE NOT n:Migration DETACH DELETE n")
    yield CypherRunner(driver, NamedQueries(GRAPH_DIR / "queries"))
    await driver.close()


Reopen = Callable[[], Awaitable[object]]


@pytest.fixture(params=["memory", "neo4j"])
def adapter(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
