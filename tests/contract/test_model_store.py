"""One contract for every ModelStore adapter: the embedded store and Neo4j."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from oretrail.store.cypher import CypherRunner
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
    assert await reopened.exposed_products(lot=ORE, facility=None, caller=None) == [PACK]


async def test_the_supply_network_is_derived_by_material(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    assert await store.supply_network(None) == [
        SupplyLink("cam", "cells", TRICKY),
        SupplyLink("cells", "oem", "cells"),
        SupplyLink("mine", "cam", "ore"),
    ]
    assert await store.supply_network(TRICKY) == [SupplyLink("cam", "cells", TRICKY)]
    assert await store.supply_network("unobtainium") == []


async def test_exposure_walks_up_to_traced_products_by_lot_and_facility(open_store: Open) -> None:
    store = open_store()
    await store.record_trace(chain())
    # Another caller traced the cells alone: a product of theirs, not of the OEM's.
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
    assert await store.exposed_products(lot=ORE, facility=None, caller=None) == [CELL, PACK]
    assert await store.exposed_products(lot=ORE, facility=None, caller="oem") == [PACK]
    assert await store.exposed_products(lot=None, facility=PIT.id, caller="cells") == [CELL]
    assert await store.exposed_products(lot=ORE2, facility=None, caller=None) == []
    assert await store.exposed_products(lot=PACK, facility=None, caller=None) == [PACK]


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
    assert await store.over_allocations(0.02) == [OverAllocation(ORE, "mine", 100.0, 130.0, 2)]
    assert await store.over_allocations(0.5) == []


async def test_over_allocation_counts_two_consumers_in_one_record(open_store: Open) -> None:
    store = open_store()
    cam2 = f"{L}cam:CAM-2"
    await store.record_trace(
        record(
            "t-1",
            CAM,
            lots=(
                ModelLot(CAM, "cam", "cam", 1000.0),
                ModelLot(cam2, "cam", "cam", 1000.0),
                ModelLot(ORE, "mine", "ore", 100.0),
            ),
            edges=(ModelEdge(CAM, ORE, 60.0), ModelEdge(cam2, ORE, 45.5)),
        )
    )
    assert await store.over_allocations(0.02) == [OverAllocation(ORE, "mine", 100.0, 105.5, 2)]
    # The same links recorded again with new masses replace, not add to, the old ones.
    await store.record_trace(
        record(
            "t-2",
            CAM,
            minutes=1,
            lots=(ModelLot(CAM, "cam"), ModelLot(cam2, "cam"), ModelLot(ORE, "mine")),
            edges=(ModelEdge(CAM, ORE, 50.0), ModelEdge(cam2, ORE, 45.5)),
        )
    )
    assert await store.over_allocations(0.0) == []
    assert await store.over_allocations(-0.1) == [OverAllocation(ORE, "mine", 100.0, 95.5, 2)]


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
    assert await store.over_allocations(0.0) == [OverAllocation(ORE, "mine", 100.0, 110.0, 2)]


async def test_participants_round_trip_verbatim(open_store: Open) -> None:
    store = open_store()
    people = [
        ParticipantRecord("b-org", TRICKY, ("MINE",), "CD", "http://127.0.0.1:1/graphql"),
        ParticipantRecord("a-org", "A", ("OEM", "PACK"), "SE", "http://127.0.0.1:2/graphql"),
    ]
    await store.register_participants(people)
    await store.register_participants(people[:1])
    assert await store.participants() == sorted(people, key=lambda p: p.id)
