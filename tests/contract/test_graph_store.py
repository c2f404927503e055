"""One contract for every GraphStore adapter: the embedded store and Neo4j."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest

from oretrail.domain.model import (
    Activity,
    Certificate,
    Custody,
    Facility,
    InputLink,
    Lot,
    Organisation,
    Quantity,
    Role,
    Shipment,
    TransitPoint,
)
from oretrail.store.cypher import CypherRunner
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.neo4j_store import Neo4jGraphStore, load_seed_into_neo4j
from oretrail.store.port import GraphStore
from oretrail.store.seed import SeedData, load_seed
from tests.conftest import SEED_DIR

MakeStore = Callable[[SeedData], Awaitable[GraphStore]]
# Quotes, backslashes, Cypher keywords and comment markers, and non-ASCII text.
TRICKY = "Co(OH)₂ \"blend\" 'x' \\ MATCH (n) DETACH DELETE n; RETURN 1 // \u2013Ñ 钴 {$org}"
ORG = "acme-refining"
FACILITY = f"urn:oretrail:facility:{ORG}:plant-1"
LOT = f"urn:oretrail:lot:{ORG}:L-1"
OTHER = f"urn:oretrail:lot:{ORG}:L-2"
FOREIGN = "urn:oretrail:lot:mine-co:ORE.7"


@pytest.fixture
def make_store(adapter: str, request: pytest.FixtureRequest) -> MakeStore:
    if adapter == "memory":

        async def memory(seed: SeedData) -> GraphStore:
            return MemoryGraphStore(seed)

        return memory
    runner: CypherRunner = request.getfixturevalue("runner")

    async def neo4j(seed: SeedData) -> GraphStore:
        await load_seed_into_neo4j(runner, seed)
        return Neo4jGraphStore(runner, seed.organisation.id)

    return neo4j


def tricky_seed() -> SeedData:
    facility = Facility(
        FACILITY,
        ORG,
        TRICKY,
        "refinery",
        "FI",
        "Pohjanmaa/Österbotten",
        63.8,
        23.1,
        artisanal=False,
        cahra=True,
        activities=frozenset({Activity.PROCESSING_REFINING, Activity.TRADING_STORAGE}),
    )
    transit = (TransitPoint("ZM", "Copperbelt"), TransitPoint("CD", TRICKY))
    lot = Lot(
        id=LOT,
        owner=ORG,
        material=TRICKY,
        quantity=Quantity(14.0, "t"),
        produced_at=date(2026, 3, 4),
        facility=FACILITY,
        custody=Custody.MASS_BALANCE,
        contents={"Co": 0.21, "Ni": 0.0},
        carbon_footprint=6.2,
        carbon_footprint_unit="kgCO2e/kWh",
        rated_capacity_kwh=1250.5,
        recycled_pre_consumer=0.1,
        recycled_post_consumer=0.25,
        inputs=(InputLink(FOREIGN, Quantity(7.5, "t")), InputLink(OTHER, Quantity(250, "kg"))),
        transit=transit,
    )
    other = Lot(
        id=OTHER,
        owner=ORG,
        material="stock",
        quantity=Quantity(1.0, "t"),
        produced_at=date(2026, 1, 1),
        facility=FACILITY,
        custody=Custody.SEGREGATED,
    )
    return SeedData(
        source=SEED_DIR / "synthetic.toml",
        organisation=Organisation(ORG, f"Acme {TRICKY}", (Role.REFINER, Role.TRADER), "FI"),
        facilities=(facility,),
        lots=(lot, other),
        shipments=(
            Shipment(LOT, ORG, "cell-maker", date(2026, 3, 9), Quantity(2.4, "t"), transit),
        ),
        certificates=(
            Certificate(
                "RMAP-2",
                FACILITY,
                "auditor",
                "RMAP",
                TRICKY,
                date(2025, 5, 1),
                date(2028, 4, 30),
                # The audit credential the holder presents, kept verbatim by every store.
                credential="aGVhZA.Ym9keQ.c2ln",
            ),
            Certificate(
                "ISO-1",
                ORG,
                "auditor",
                "ISO 14001",
                "site",
                date(2024, 1, 1),
                date(2027, 1, 1),
                "SUSPENDED",
            ),
        ),
    )


async def test_a_lot_round_trips_verbatim(make_store: MakeStore) -> None:
    seed = tricky_seed()
    store = await make_store(seed)
    lots = await store.lots([LOT, OTHER, FOREIGN, f"urn:oretrail:lot:{ORG}:NOPE"])
    assert lots == {LOT: seed.lots[0], OTHER: seed.lots[1]}
    assert lots[LOT].material == TRICKY
    assert lots[OTHER].contents is None


async def test_the_organisation_and_facilities_round_trip(make_store: MakeStore) -> None:
    seed = tricky_seed()
    store = await make_store(seed)
    assert await store.organisation() == seed.organisation
    assert list(await store.facilities()) == [seed.facilities[0]]


async def test_consumers_of_our_and_foreign_lots(make_store: MakeStore) -> None:
    store = await make_store(tricky_seed())
    consumers = await store.consumers([FOREIGN, OTHER, LOT])
    assert [(c.consumer, c.quantity) for c in consumers[FOREIGN]] == [(LOT, Quantity(7.5, "t"))]
    assert [(c.consumer, c.quantity) for c in consumers[OTHER]] == [(LOT, Quantity(250, "kg"))]
    assert consumers[LOT] == []


async def test_shipments_certificates_and_lots_at_a_facility(make_store: MakeStore) -> None:
    seed = tricky_seed()
    store = await make_store(seed)
    assert (await store.shipments([LOT, OTHER])) == {LOT: [seed.shipments[0]], OTHER: []}
    certificates = await store.certificates([FACILITY, ORG])
    assert [c.id for c in certificates] == ["ISO-1", "RMAP-2"]
    assert certificates[1].scope == TRICKY
    assert await store.certificates([FACILITY]) == [seed.certificates[0]]
    assert await store.lots_at(FACILITY) == [LOT, OTHER]
    assert await store.lots_at(f"urn:oretrail:facility:{ORG}:elsewhere") == []


async def test_the_sample_seed_reads_the_same_from_every_adapter(make_store: MakeStore) -> None:
    seed = load_seed(SEED_DIR / "helios-cathode.toml")
    store = await make_store(seed)
    ids = [lot.id for lot in seed.lots]
    assert await store.lots(ids) == {lot.id: lot for lot in seed.lots}
    inputs = [link.lot for link in seed.lots[0].inputs]
    consumers = await store.consumers(inputs)
    assert all([c.consumer for c in consumers[i]] == [seed.lots[0].id] for i in inputs)
