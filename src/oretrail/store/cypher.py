"""Neo4j plumbing shared by the Neo4j adapters: the driver, named queries, migrations.

Every Cypher statement lives in a file under graph/ and is run with parameters
only. Neo4j driver exceptions are translated here, at the adapter edge, into
StoreUnavailable (retry later) or StoreError.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncGraphDatabase, AsyncManagedTransaction, RoutingControl
from neo4j import exceptions as neo4j_errors

from oretrail.errors import ConfigError, StoreError, StoreUnavailable

__all__ = [
    "CypherRunner",
    "NamedQueries",
    "Transaction",
    "apply_migrations",
    "load_migrations",
    "open_driver",
]

_T = TypeVar("_T")
DATABASE = "neo4j"


def open_driver(uri: str) -> neo4j.AsyncDriver:
    """One async driver per process; short timeouts so an outage is reported, not waited out.

    The local development server runs without authentication; set NEO4J_USERNAME and
    NEO4J_PASSWORD in the environment to use one that has it.
    """
    import os  # noqa: PLC0415 - read at call time, never at import

    user, password = os.environ.get("NEO4J_USERNAME"), os.environ.get("NEO4J_PASSWORD")
    try:
        return AsyncGraphDatabase.driver(
            uri,
            auth=(user, password) if user and password else None,
            connection_timeout=3.0,
            connection_acquisition_timeout=5.0,
            max_transaction_retry_time=3.0,
            max_connection_lifetime=300,
        )
    except (ValueError, neo4j_errors.ConfigurationError) as exc:
        raise ConfigError(f"cannot use Neo4j URI {uri!r}: {exc}") from None


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn Neo4j driver failures into our store errors, naming the operation."""
    try:
        yield
    except (
        neo4j_errors.ServiceUnavailable,
        neo4j_errors.SessionExpired,
        neo4j_errors.TransientError,
        OSError,
    ) as exc:
        raise StoreUnavailable(f"Neo4j is unavailable ({what}): {_short(exc)}") from exc
    except neo4j_errors.DriverError as exc:
        raise StoreUnavailable(f"Neo4j connection failed ({what}): {_short(exc)}") from exc
    except neo4j_errors.Neo4jError as exc:
        raise StoreError(f"Neo4j refused {what}: {exc.code}: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class NamedQueries:
    """Cypher text from graph/queries/<group>/<name>.cypher, read once and kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        text = self._cache.get(name)
        if text is None:
            path = self.root / f"{name}.cypher"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"named query {name!r} is missing: {path}: {exc}") from None
            self._cache[name] = text
        return text


class CypherRunner:
    """Runs named, parameterised queries on one driver, in the default database."""

    def __init__(self, driver: neo4j.AsyncDriver, queries: NamedQueries) -> None:
        self.driver = driver
        self.queries = queries

    async def read(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        with translated(name):
            result = await self.driver.execute_query(
                self.queries[name], parameters, routing_=RoutingControl.READ, database_=DATABASE
            )
        return [record.data() for record in result.records]

    async def write(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        with translated(name):
            result = await self.driver.execute_query(
                self.queries[name], parameters, routing_=RoutingControl.WRITE, database_=DATABASE
            )
        return [record.data() for record in result.records]

    async def in_transaction(self, what: str, work: Callable[[Transaction], Awaitable[_T]]) -> _T:
        """Run several named statements in one write transaction (retried if transient)."""

        async def unit(tx: AsyncManagedTransaction) -> _T:
            return await work(Transaction(tx, self.queries))

        with translated(what):
            async with self.driver.session(database=DATABASE) as session:
                return await session.execute_write(unit)

    async def ping(self) -> None:
        with translated("health check"):
            await self.driver.verify_connectivity()


class Transaction:
    """Named statements inside one managed transaction."""

    def __init__(self, tx: AsyncManagedTransaction, queries: NamedQueries) -> None:
        self._tx = tx
        self._queries = queries

    async def run(self, name: str, **parameters: Any) -> list[dict[str, Any]]:
        result = await self._tx.run(self._queries[name], parameters)
        return [record.data() async for record in result]


def load_migrations(directory: Path) -> list[tuple[str, list[str]]]:
    """graph/migrations/*.cypher in name order, each as (id, statements)."""
    files = sorted(directory.glob("*.cypher"))
    if not files:
        raise ConfigError(f"no migrations found in {directory}")
    return [(path.stem, _statements(path.read_text(encoding="utf-8"))) for path in files]


async def apply_migrations(
    driver: neo4j.AsyncDriver, migrations: list[tuple[str, list[str]]]
) -> list[str]:
    """Apply migrations in order, each once; return the ids applied now.

    Schema statements cannot share a transaction with writes, so each statement runs
    on its own; every statement is idempotent (IF NOT EXISTS), so a migration that
    failed half-way is safe to run again.
    """
    applied: list[str] = []
    with translated("migrations"):
        async with driver.session(database=DATABASE) as session:
            await (
                await session.run(
                    "CREATE CONSTRAINT migration_id IF NOT EXISTS "
                    "FOR (m:Migration) REQUIRE m.id IS UNIQUE"
                )
            ).consume()
            for migration, statements in migrations:
                done = await (
                    await session.run(
                        "MATCH (m:Migration {id: $id}) RETURN count(m) AS n", id=migration
                    )
                ).single()
                if done is not None and done["n"] > 0:
                    continue
                for statement in statements:
                    await (await session.run(statement)).consume()
                await (
                    await session.run(
                        "MERGE (m:Migration {id: $id}) SET m.applied_at = datetime()", id=migration
                    )
                ).consume()
                applied.append(migration)
    return applied


def _statements(text: str) -> list[str]:
    """Split a migration file on ';' at line ends, dropping // comment lines."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("//")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
