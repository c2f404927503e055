"""The hand-computed model cases of ../shared/cases on real servers, embedded model and Neo4j.

Each case's seeds are set up by tests/support/seed_cases.py (copied at test time,
registered, permissive policies), with the case's own policies/ where it gives
them; the gateway's over-allocation answer is checked against the case's README.
A missing case folder fails the tests, it never skips them.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import neo4j
import pytest

from oretrail.bootstrap import Federation, FederationConfig
from oretrail.config import ModelSettings
from oretrail.store.cypher import apply_migrations, load_migrations, open_driver
from tests.conftest import GRAPH_DIR, graphql, served_federation
from tests.support.seed_cases import case_federation, cases_dir

pytestmark = pytest.mark.e2e

L = "urn:oretrail:lot:"
OVER_ALLOCATIONS = "{ overAllocations { lot owner quantityKg allocatedKg outputs } }"


def case_config(case: str, tmp_path: Path, model: ModelSettings) -> FederationConfig:
    """The case's federation under tmp_path, its policies/ as given, on the given model."""
    source = cases_dir() / case
    config = case_federation(source / "seeds", tmp_path)
    for policy in sorted((source / "policies").glob("*.toml")):
        shutil.copyfile(policy, config.policy_dir / policy.name)
    return replace(config, settings=replace(config.settings, model=model))


@pytest.fixture(params=["embedded", "neo4j"])
def model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModelSettings]:
    """The gateway's model: once embedded, once on Neo4j emptied of earlier models."""
    if request.param == "embedded":
        yield ModelSettings(store="memory", data_dir=tmp_path / "model")
        return
    uri: str = request.getfixturevalue("neo4j_uri")
    # Lot ids repeat across cases (oem-a:P1, cell-x:X1), so each case starts from an
    # empty model; nodes here serve from their seeds, not from Neo4j.
    asyncio.run(_empty_model(uri))
    yield ModelSettings(store="neo4j", neo4j_uri=uri, data_dir=None)


async def _empty_model(uri: str) -> None:
    driver: neo4j.AsyncDriver = open_driver(uri)
    try:
        await apply_migrations(driver, load_migrations(GRAPH_DIR / "migrations"))
        await driver.execute_query(
            "MATCH (n) WHERE n:Lot OR n:LotView OR n:Trace OR n:Facility DETACH DELETE n"
        )
        await driver.execute_query("MATCH (o:Organisation) DETACH DELETE o")
    finally:
        await driver.close()


def served(config: FederationConfig, model: ModelSettings) -> AbstractContextManager[Federation]:
    uri = model.neo4j_uri if model.store == "neo4j" else None
    return served_federation(config, neo4j_uri=uri)


async def ask(federation: Federation, org: str, query: str, **v: Any) -> Any:
    body = await graphql(federation.gateway_url, query, v, token=federation.user(org))
    assert "errors" not in body, body
    return body["data"]


async def trace(federation: Federation, org: str, lot: str) -> None:
    query = "query($lot: ID!) { trace(lot: $lot) { root } }"
    data = await ask(federation, org, query, lot=lot)
    assert data["trace"]["root"] == lot


@pytest.mark.parametrize("x1_tonnes", ["1.9", "4"])
async def test_case_duplicate_input_link_overallocation(
    tmp_path: Path, model: ModelSettings, x1_tonnes: str
) -> None:
    config = case_config("duplicate-input-link-overallocation", tmp_path, model)
    # The README's variant holds 4 t in X1; the copy is edited before any node reads it.
    seed = tmp_path / "seeds" / "cell-x.toml"
    text = seed.read_text(encoding="utf-8")
    assert "value = 1.9," in text
    seed.write_text(text.replace("value = 1.9,", f"value = {x1_tonnes},"), encoding="utf-8")
    x1_kg = float(x1_tonnes) * 1000
    with served(config, model) as federation:
        await trace(federation, "oem-a", f"{L}oem-a:P1")
        # P1 lists X1 twice, 3 t and 2 t: 3,000 + 2,000 = 5,000 kg consumed of X1,
        # beyond 1,900 kg (and beyond 4,000 kg), by one consuming lot.
        data = await ask(federation, "oem-a", OVER_ALLOCATIONS)
        assert data["overAllocations"] == [
            {
                "lot": f"{L}cell-x:X1",
                "owner": "cell-x",
                "quantityKg": x1_kg,
                "allocatedKg": 5000.0,
                "outputs": 1,
            }
        ]
        # X1's owner reads the same total on its own lot, without who consumed it.
        owner = await ask(federation, "cell-x", OVER_ALLOCATIONS)
        assert owner["overAllocations"] == [
            {
                "lot": f"{L}cell-x:X1",
                "owner": "cell-x",
                "quantityKg": x1_kg,
                "allocatedKg": 5000.0,
                "outputs": None,
            }
        ]


async def test_case_withheld_mass_erases_allocation(tmp_path: Path, model: ModelSettings) -> None:
    config = case_config("withheld-mass-erases-allocation", tmp_path, model)
    # M1 holds 8 t; X1 took 4 t and Y1 6 t: 4,000 + 6,000 = 10,000 kg allocated.
    m1_totals = [
        {
            "lot": f"{L}mine-m:M1",
            "owner": "mine-m",
            "quantityKg": 8000.0,
            "allocatedKg": 10000.0,
            "outputs": None,
        }
    ]
    with served(config, model) as federation:
        await trace(federation, "cell-x", f"{L}cell-x:X1")
        await trace(federation, "cell-y", f"{L}cell-y:Y1")
        first = await ask(federation, "mine-m", OVER_ALLOCATIONS)
        assert first["overAllocations"] == m1_totals
        # cell-y shows quantities only to itself: oem-a's trace cannot see Y1's 6 t of M1.
        await trace(federation, "oem-a", f"{L}oem-a:P1")
        second = await ask(federation, "mine-m", OVER_ALLOCATIONS)
        assert second["overAllocations"] == m1_totals
        # oem-a's own links know 4,000 kg of M1's 8,000 kg: nothing over-allocated for it.
        own = await ask(federation, "oem-a", OVER_ALLOCATIONS)
        assert own["overAllocations"] == []
