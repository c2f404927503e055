"""`oretrail import epcis --neo4j`: the participant's store on a real Neo4j holds the same
records as the seed file the document was exported from; a refused document changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from oretrail.bootstrap import neo4j_runner
from oretrail.cli import main
from oretrail.standards.epcis_store import read_store
from oretrail.store.neo4j_store import Neo4jGraphStore
from oretrail.store.seed import SeedData, load_seed
from tests.conftest import CONFIG_DIR, GRAPH_DIR, SEED_DIR
from tests.support.standards_files import epcis_schema_path

pytestmark = pytest.mark.e2e

ORG = "circulo-recycling"  # three lots, three links, two shipments, a certificate


async def stored(uri: str) -> SeedData:
    async with neo4j_runner(uri, GRAPH_DIR) as runner:
        return await read_store(Neo4jGraphStore(runner, ORG), SEED_DIR / f"{ORG}.toml")


def cli(*argv: str) -> int:
    return main(["--config", str(CONFIG_DIR), *argv])


def as_sets(seed: SeedData) -> tuple[object, ...]:
    return (
        seed.organisation,
        set(seed.facilities),
        sorted(seed.lots, key=lambda lot: lot.id),
        set(seed.shipments),
        set(seed.certificates),
    )


async def test_an_import_into_neo4j_holds_what_the_exported_seed_file_holds(
    neo4j_uri: str, tmp_path: Path
) -> None:
    exported = tmp_path / "circulo.jsonld"
    assert (
        await asyncio.to_thread(cli, "export", "epcis", "--org", ORG, "--out", str(exported)) == 0
    )
    schema = str(epcis_schema_path())
    status = await asyncio.to_thread(
        cli,
        "import",
        "epcis",
        str(exported),
        "--org",
        ORG,
        "--neo4j",
        neo4j_uri,
        "--schema",
        schema,
    )
    assert status == 0
    seed = load_seed(SEED_DIR / f"{ORG}.toml")
    assert as_sets(await stored(neo4j_uri)) == as_sets(seed)

    # A second document whose one event has no unit: refused, Neo4j unchanged.
    document = json.loads(exported.read_text(encoding="utf-8"))
    del document["epcisBody"]["eventList"][0]["quantityList"][0]["uom"]
    broken = tmp_path / "broken.jsonld"
    broken.write_text(json.dumps(document), encoding="utf-8")
    status = await asyncio.to_thread(
        cli, "import", "epcis", str(broken), "--org", ORG, "--neo4j", neo4j_uri, "--schema", schema
    )
    assert status == 2
    assert as_sets(await stored(neo4j_uri)) == as_sets(seed)
