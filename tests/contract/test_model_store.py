"""One contract for every ModelStore adapter: the embedded store and Neo4j."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from oretrail.store.cypher import CypherRunner, load_migrations
from oretrail.store.model_memory import MemoryModelStore
from oretrail.store.model_neo4j import Neo4jModelStore
from oretrail.store.model_port import (
    ModelEdge,
    ModelFacility,
    ModelLot,
    ModelStore,
    OverAllocation,
    ParticipantRecord,
    SupplyLink,
    TraceRecord,
    TraceSummary,
)
from tests.conftest import GRAPH_DIR
from tests.contract.test_graph_store import TRICKY

Open = Callable[[], ModelStore]
L = "urn:oretrail:lot:"
PACK, CELL, CAM, ORE, ORE2 = (
    f"{L}oem:PACK-1",
    f"{L}cells:C-1",
    f"{L}cam:CAM-1",
    f"{L}mine:ORE-1",
    f"{L}mine:ORE-2",
)
PIT = ModelFacility("urn:oretrail:facility:mine:pit", "mine", "Pit", "mine", "CD", "Lualaba")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def open_store(adapter: str, data_dir: Path, request: pytest.FixtureRequest) -> Open:
    """Opens the adapter over the same backing data each time it is called."""
    if adapter == "memory":
        return lambda: MemoryModelStore(data_dir)
    runner: CypherRunner = request.getfixturevalue("runner")
    return lambda: Neo4jModelStore(runner)


def record(
    trace_id: str,
    root: str,
    *,
    caller: str = "oem",
    minutes: int = 0,
    lots: tuple[ModelLot, ...] = (),
    edges: tuple[ModelEdge, ...] = (),
) -> TraceRecord:
    summary = TraceSummary(
        id=trace_id,
        root=root,
        caller=caller,
        at=T0 + timedelta(minutes=minutes),
        as_of=date(2026, 11, 26),
        max_depth=20,
        elements=("Co", "Ni"),
        coverage=(1.0, 0.8333),
        origins=tuple(lot.id for lot in lots if lot.owner == "mine"),
        gaps=1,
    )
    return TraceRecord(summary, lots, edges)


def chain() -> TraceRecord:
    """PACK <- CELL <- CAM <- ORE (at the pit)."""
    return record(
        "t-1",
        PACK,
        lots=(
            ModelLot(PACK, "oem", "battery pack", 22500.0),
            ModelLot(CELL, "cells", "cells", 13500.0),
            ModelLot(CAM, "cam", TRICKY, 10000.0),
            ModelLot(ORE, "mine", "ore", 100.0, PIT),
        ),
        edges=(
            ModelEdge(PACK, CELL, 13500.0),
            ModelEdge(CELL, CAM, 4050.0),
            ModelEdge(CAM, ORE, 60.0),
        ),
    )


async def test_a_recorded_trace_is_in_the_history(open_store: Open) -> None:
    store = open_store()
    trace = chain()
    await store.record_trace(trace)
    assert await store.trace_history(root=None, caller=None, limit=10) == [trace.summary]


async def test_history_is_newest_first_and_filters_by_root_and_caller(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    await store.record_trace(
        record("t-2", CELL, caller="cells", minutes=5, lots=(ModelLot(CELL, "cells"),))
    )
    await store.record_trace(
        record("t-3", PACK, caller="oem", minutes=9, lots=(ModelLot(PACK, "oem"),))
    )
    assert [t.id for t in await store.trace_history(root=None, caller=None, limit=10)] == [
        "t-3",
        "t-2",
        "t-1",
    ]
    assert [t.id for t in await store.trace_history(root=PACK, caller=None, limit=10)] == [
        "t-3",
        "t-1",
    ]
    assert [t.id for t in await store.trace_history(root=None, caller="cells", limit=10)] == ["t-2"]
    assert [t.id for t in await store.trace_history(root=None, caller=None, limit=1)] == ["t-3"]


async def test_committed_records_survive_a_reopen(open_store: Open) -> None:
    await open_store().record_trace(chain())
    reopened = open_store()
    assert [t.id for t in await reopened.trace_history(root=None, caller=None, limit=5)] == ["t-1"]
    assert await reopened.exposed_products(lot=ORE, facility=None, caller="oem") == [PACK]


async def test_the_supply_network_is_derived_by_material(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    assert await store.supply_network(None, caller="oem") == [
        SupplyLink("cam", "cells", TRICKY),
        SupplyLink("cells", "oem", "cells"),
        SupplyLink("mine", "cam", "ore"),
    ]
    assert await store.supply_network(TRICKY, caller="oem") == [SupplyLink("cam", "cells", TRICKY)]
    assert await store.supply_network("unobtainium", caller="oem") == []


async def test_exposure_walks_only_the_callers_own_links(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    # The cells' maker traced its cells, but its trace stopped at the cathode material.
    await store.record_trace(
        record(
            "t-2",
            CELL,
            caller="cells",
            minutes=1,
            lots=(ModelLot(CELL, "cells"), ModelLot(CAM, "cam")),
            edges=(ModelEdge(CELL, CAM, 4050.0),),
        )
    )
    assert await store.exposed_products(lot=ORE, facility=None, caller="oem") == [PACK]
    assert await store.exposed_products(lot=None, facility=PIT.id, caller="oem") == [PACK]
    assert await store.exposed_products(lot=CAM, facility=None, caller="cells") == [CELL]
    # The OEM's links reach the ore; the cell maker's do not, so nothing of the OEM's
    # trace answers for it, neither by lot nor by the facility only the OEM saw.
    assert await store.exposed_products(lot=ORE, facility=None, caller="cells") == []
    assert await store.exposed_products(lot=None, facility=PIT.id, caller="cells") == []
    assert await store.exposed_products(lot=ORE2, facility=None, caller="oem") == []
    assert await store.exposed_products(lot=PACK, facility=None, caller="oem") == [PACK]


async def test_over_allocation_sums_consumption_across_traces(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())  # CAM consumes 60 kg of the 100 kg ORE lot
    await store.record_trace(
        record(
            "t-2",
            f"{L}cam:CAM-2",
            minutes=1,
            lots=(ModelLot(f"{L}cam:CAM-2", "cam"), ModelLot(ORE, "mine")),
            edges=(ModelEdge(f"{L}cam:CAM-2", ORE, 70.0),),
        )
    )
    # 60 + 70 = 130 kg of 100 kg, beyond 100 · 1.02 but within 100 · 1.5.
    assert await store.over_allocations(0.02, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 130.0, 2)
    ]
    assert await store.over_allocations(0.5, caller="oem") == []


async def test_a_link_seen_again_is_neither_lowered_nor_counted_twice(open_store: Open) -> None:
    store = open_store()
    cam2 = f"{L}cam:CAM-2"
    lots = (
        ModelLot(CAM, "cam", "cam", 1000.0),
        ModelLot(cam2, "cam", "cam", 1000.0),
        ModelLot(ORE, "mine", "ore", 100.0),
    )
    await store.record_trace(
        record("t-1", CAM, lots=lots, edges=(ModelEdge(CAM, ORE, 60.0), ModelEdge(cam2, ORE, 45.5)))
    )
    # 60 + 45.5 = 105.5 kg of 100 kg.
    expected = [OverAllocation(ORE, "mine", 100.0, 105.5, 2)]
    assert await store.over_allocations(0.02, caller="oem") == expected
    # The same links again: the same consumption seen twice, not 211 kg.
    await store.record_trace(
        record("t-2", CAM, minutes=1, lots=lots, edges=(ModelEdge(CAM, ORE, 60.0),))
    )
    assert await store.over_allocations(0.02, caller="oem") == expected
    # A trace that could not see the masses (None), or saw less, lowers nothing.
    await store.record_trace(
        record(
            "t-3",
            CAM,
            minutes=2,
            lots=(ModelLot(CAM, "cam"), ModelLot(cam2, "cam"), ModelLot(ORE, "mine")),
            edges=(ModelEdge(CAM, ORE, None), ModelEdge(cam2, ORE, 10.0)),
        )
    )
    assert await store.over_allocations(0.02, caller="oem") == expected
    # A trace that knows better raises it: 80 + 45.5 = 125.5 kg.
    await store.record_trace(
        record("t-4", CAM, minutes=3, lots=lots, edges=(ModelEdge(CAM, ORE, 80.0),))
    )
    assert await store.over_allocations(0.02, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 125.5, 2)
    ]


async def test_concurrent_records_of_one_organisation_all_count(open_store: Open) -> None:
    store = open_store()

    def consumer(n: int, kilograms: float | None) -> TraceRecord:
        cam = f"{L}cam:CAM-{n}"
        return record(
            f"t-{n}-{kilograms}",
            cam,
            minutes=n,
            lots=(ModelLot(cam, "cam", "cam", 1000.0), ModelLot(ORE, "mine", "ore", 100.0)),
            edges=(ModelEdge(cam, ORE, kilograms),),
        )

    # The links exist first with their masses withheld, so that the concurrent
    # records below update existing links rather than create new ones.
    for n in range(1, 9):
        await store.record_trace(consumer(n, None))
    await asyncio.gather(*(store.record_trace(consumer(n, 20.0)) for n in range(1, 9)))
    # Eight consumers of 20 kg each: 8 · 20 = 160 kg of the 100 kg lot.
    assert await store.over_allocations(0.0, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 160.0, 8)
    ]


async def test_a_lot_seen_again_keeps_what_was_known(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    # A later trace could not open ORE: no quantity; the recorded 100 kg must remain.
    await store.record_trace(
        record(
            "t-2",
            f"{L}cam:CAM-2",
            minutes=1,
            lots=(ModelLot(f"{L}cam:CAM-2", "cam"), ModelLot(ORE, "mine")),
            edges=(ModelEdge(f"{L}cam:CAM-2", ORE, 50.0),),
        )
    )
    # 60 + 50 = 110 kg of the 100 kg known from the first trace.
    assert await store.over_allocations(0.0, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 110.0, 2)
    ]


async def test_placeholders_are_replaced_once_a_trace_knows_better(open_store: Open) -> None:
    store = open_store()
    unseen = (ModelLot(CAM, "cam", "cam", 1000.0), ModelLot(ORE, "mine", "(withheld)", None))
    await store.record_trace(record("t-1", CAM, lots=unseen, edges=(ModelEdge(CAM, ORE, 150.0),)))
    assert await store.supply_network(None, caller="oem") == [SupplyLink("mine", "cam", "unknown")]
    assert await store.over_allocations(0.0, caller="oem") == []  # no quantity: not judged
    known = (ModelLot(CAM, "cam"), ModelLot(ORE, "mine", "ore", 100.0))
    await store.record_trace(
        record("t-2", CAM, minutes=1, lots=known, edges=(ModelEdge(CAM, ORE, None),))
    )
    # The placeholder material is gone; 150 kg consumed of the now known 100 kg.
    assert await store.supply_network(None, caller="oem") == [SupplyLink("mine", "cam", "ore")]
    assert await store.over_allocations(0.0, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 150.0, 1)
    ]
    # A later placeholder never replaces what is known.
    await store.record_trace(
        record("t-3", CAM, minutes=2, lots=unseen[1:], edges=(ModelEdge(CAM, ORE, None),))
    )
    assert await store.supply_network("ore", caller="oem") == [SupplyLink("mine", "cam", "ore")]


async def test_a_competitor_sees_nothing_of_another_organisations_traces(
    open_store: Open,
) -> None:
    store = open_store()
    trace = chain()
    await store.record_trace(trace)
    await store.record_trace(
        record(
            "t-2",
            f"{L}cam:CAM-2",
            minutes=1,
            lots=(ModelLot(f"{L}cam:CAM-2", "cam"), ModelLot(ORE, "mine")),
            edges=(ModelEdge(f"{L}cam:CAM-2", ORE, 70.0),),
        )
    )
    for rival in ("rival", "cells"):
        assert await store.trace_history(root=None, caller=rival, limit=10) == []
        assert await store.supply_network(None, caller=rival) == []
        assert await store.exposed_products(lot=ORE, facility=None, caller=rival) == []
        assert await store.exposed_products(lot=None, facility=PIT.id, caller=rival) == []
        assert await store.over_allocations(0.0, caller=rival) == []
    # The OEM that traced sees its own links: 60 + 70 = 130 kg of ORE's 100 kg, two outputs.
    assert await store.over_allocations(0.0, caller="oem") == [
        OverAllocation(ORE, "mine", 100.0, 130.0, 2)
    ]
    # ORE's owner sees the total on its own lot, without who consumed it.
    assert await store.over_allocations(0.0, caller="mine") == [
        OverAllocation(ORE, "mine", 100.0, 130.0, None)
    ]


async def test_participants_round_trip_verbatim(open_store: Open) -> None:
    store = open_store()
    people = [
        ParticipantRecord("b-org", TRICKY, ("MINE",), "CD", "http://127.0.0.1:1/graphql"),
        ParticipantRecord("a-org", "A", ("OEM", "PACK"), "SE", "http://127.0.0.1:2/graphql"),
    ]
    await store.register_participants(people)
    await store.register_participants(people[:1])
    assert await store.participants() == sorted(people, key=lambda p: p.id)


# ../shared/cases/duplicate-input-link-overallocation and withheld-mass-erases-allocation,
# fed to the stores as the records their traces leave.
P1, X1, Y1, M1 = f"{L}oem-a:P1", f"{L}cell-x:X1", f"{L}cell-y:Y1", f"{L}mine-m:M1"


@pytest.mark.parametrize("x1_kg", [1900.0, 4000.0])
async def test_case_two_deliveries_of_one_lot_add_up(open_store: Open, x1_kg: float) -> None:
    store = open_store()
    lots = (ModelLot(P1, "oem-a", "pack", 5000.0), ModelLot(X1, "cell-x", "cells", x1_kg))
    # P1 lists X1 twice, 3 t and 2 t: two deliveries, 3,000 + 2,000 = 5,000 kg consumed.
    deliveries = (ModelEdge(P1, X1, 3000.0), ModelEdge(P1, X1, 2000.0))
    await store.record_trace(record("t-1", P1, caller="oem-a", lots=lots, edges=deliveries))
    # 5,000 kg > 1,900 kg (and > 4,000 kg): over-allocated, one consuming lot.
    expected = [OverAllocation(X1, "cell-x", x1_kg, 5000.0, 1)]
    assert await store.over_allocations(0.02, caller="oem-a") == expected
    # The same trace again is the same two deliveries, not four.
    await store.record_trace(
        record("t-2", P1, caller="oem-a", minutes=1, lots=lots, edges=deliveries)
    )
    assert await store.over_allocations(0.02, caller="oem-a") == expected
    # X1's owner reads the same total on its own lot, without who consumed it.
    assert await store.over_allocations(0.02, caller="cell-x") == [
        OverAllocation(X1, "cell-x", x1_kg, 5000.0, None)
    ]


async def test_a_withheld_delivery_counts_as_unknown_never_as_zero(open_store: Open) -> None:
    store = open_store()
    lots = (ModelLot(P1, "oem-a", "pack", 5000.0), ModelLot(X1, "cell-x", "cells", 2500.0))
    # One delivery seen (3,000 kg), one withheld: at least 3,000 kg of X1's 2,500 kg.
    await store.record_trace(
        record(
            "t-1",
            P1,
            caller="oem-a",
            lots=lots,
            edges=(ModelEdge(P1, X1, 3000.0), ModelEdge(P1, X1, None)),
        )
    )
    assert await store.over_allocations(0.0, caller="oem-a") == [
        OverAllocation(X1, "cell-x", 2500.0, 3000.0, 1)
    ]
    # A later trace sees both deliveries: 3,000 + 2,000 = 5,000 kg replaces the lower bound.
    await store.record_trace(
        record(
            "t-2",
            P1,
            caller="oem-a",
            minutes=1,
            lots=lots,
            edges=(ModelEdge(P1, X1, 3000.0), ModelEdge(P1, X1, 2000.0)),
        )
    )
    assert await store.over_allocations(0.0, caller="oem-a") == [
        OverAllocation(X1, "cell-x", 2500.0, 5000.0, 1)
    ]
    # A trace that saw no mass at all records nothing known, so lowers nothing.
    await store.record_trace(
        record("t-3", P1, caller="oem-a", minutes=2, lots=lots, edges=(ModelEdge(P1, X1, None),))
    )
    assert await store.over_allocations(0.0, caller="cell-x") == [
        OverAllocation(X1, "cell-x", 2500.0, 5000.0, None)
    ]


async def test_case_a_withheld_mass_never_erases_an_allocation(open_store: Open) -> None:
    store = open_store()
    m1 = ModelLot(M1, "mine-m", "ore", 8000.0)
    x1 = ModelLot(X1, "cell-x", "cells", 4000.0)
    # Step 1: cell-x traces X1 (4 t of M1). Step 2: cell-y traces Y1 (6 t of M1).
    await store.record_trace(
        record("t-1", X1, caller="cell-x", lots=(x1, m1), edges=(ModelEdge(X1, M1, 4000.0),))
    )
    y1 = ModelLot(Y1, "cell-y", "cells", 6000.0)
    await store.record_trace(
        record(
            "t-2", Y1, caller="cell-y", minutes=1, lots=(y1, m1), edges=(ModelEdge(Y1, M1, 6000.0),)
        )
    )
    # Step 3: M1's owner reads its totals: 4,000 + 6,000 = 10,000 kg of 8,000 kg.
    totals = [OverAllocation(M1, "mine-m", 8000.0, 10000.0, None)]
    assert await store.over_allocations(0.02, caller="mine-m") == totals
    # Step 4: oem-a traces P1; cell-y withholds Y1's quantities from it (None).
    await store.record_trace(
        record(
            "t-3",
            P1,
            caller="oem-a",
            minutes=2,
            lots=(ModelLot(P1, "oem-a", "pack", 10000.0), x1, ModelLot(Y1, "cell-y", "cells"), m1),
            edges=(
                ModelEdge(P1, X1, 4000.0),
                ModelEdge(P1, Y1, 6000.0),
                ModelEdge(X1, M1, 4000.0),
                ModelEdge(Y1, M1, None),
            ),
        )
    )
    # Step 5: still 10,000 kg: X1's 4,000 kg seen twice counts once, Y1's 6,000 kg stays.
    assert await store.over_allocations(0.02, caller="mine-m") == totals
    # oem-a's own links hold 4,000 kg known of M1's 8,000 kg: nothing to flag for it;
    # each cell maker's own links hold its own share only.
    assert await store.over_allocations(0.02, caller="oem-a") == []
    assert await store.over_allocations(0.02, caller="cell-y") == []


async def test_migration_0004_drops_links_that_name_no_organisation(runner: CypherRunner) -> None:
    """Links of the old rules (no recording organisation, withheld as 0 kg) answer no one."""
    await runner.driver.execute_query(
        "CREATE (c:Lot {id: $c, owner: 'cam'})-[:CONSUMED {kg: 0.0}]->"
        "(i:Lot {id: $i, owner: 'mine', quantity_kg: 100.0, allocated_kg: 0.0, "
        "allocation_ratio: 0.0, outputs: 1}), "
        "(:Organisation {id: 'mine'})-[:SUPPLIES {material: 'ore'}]->(:Organisation {id: 'cam'})",
        c=CAM,
        i=ORE,
    )
    statements = dict(load_migrations(GRAPH_DIR / "migrations"))["0004_model_per_organisation"]
    for statement in statements:
        await runner.driver.execute_query(statement)
    left, _, _ = await runner.driver.execute_query(
        "MATCH ()-[r:CONSUMED|SUPPLIES]->() RETURN count(r) AS links"
    )
    assert left[0]["links"] == 0
    lot, _, _ = await runner.driver.execute_query(
        "MATCH (x:Lot {id: $i}) RETURN x.allocated_kg AS kg, x.quantity_kg AS q", i=ORE
    )
    assert (lot[0]["kg"], lot[0]["q"]) == (None, 100.0)
    # The model works on after it: the next trace records its links again.
    store = Neo4jModelStore(runner)
    await store.record_trace(chain())
    assert await store.exposed_products(lot=ORE, facility=None, caller="oem") == [PACK]


async def test_one_transparency_answer_is_kept_per_key_and_survives_a_reopen(
    open_store: Open,
) -> None:
    """DESIGN.md, Trust 5: one answer per query, variables and closed period."""
    store = open_store()
    key = "cobalt-origin-countries|vars-hash|2026-07-01/2026-09-30"
    assert await store.transparency_answer(key) is None
    first = '{"groups": [["CD", 0.74]]}'
    assert await store.keep_transparency_answer(key, first) == first
    # A later (or concurrent) run keeps nothing new: the first answer stands.
    assert await store.keep_transparency_answer(key, '{"groups": []}') == first
    other = "cobalt-origin-countries|vars-hash|2026-04-01/2026-06-30"
    assert await store.transparency_answer(other) is None
    assert await open_store().transparency_answer(key) == first
