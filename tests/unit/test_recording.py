"""What a trace leaves in the gateway's model: only what the owners' own nodes answered."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedInput, Unopened
from oretrail.gateway.recording import trace_record
from oretrail.gateway.tracing import TraceReport
from oretrail.store.model_port import ModelEdge
from tests.unit.lotgraphs import lid, lot

PACK, CELL, REFUSED, DOWN = (
    lid("oem", "P1"),
    lid("cell", "C1"),
    lid("rival", "R1"),
    lid("far", "F1"),
)


def report(graph: LotGraph) -> TraceReport:
    return TraceReport(graph, attribute(graph), [], 20, date(2026, 11, 26))


def graph_with_gaps() -> LotGraph:
    """PACK consumed CELL twice (one mass withheld), and two lots no owner opened."""
    pack = lot(PACK, contents={"Co": 0.1}, inputs=((REFUSED, 500.0), (DOWN, 200.0)))
    deliveries = (TracedInput(CELL, "cell", 300.0), TracedInput(CELL, "cell", None))
    graph = LotGraph(PACK)
    graph.lots[PACK] = replace(pack, inputs=deliveries + pack.inputs)
    graph.lots[CELL] = lot(CELL, contents={"Co": 0.1}, material="(withheld)", quantity_kg=None)
    graph.unopened[REFUSED] = Unopened(REFUSED, "rival", GapReason.WITHHELD, "refused")
    graph.unopened[DOWN] = Unopened(DOWN, "far", GapReason.UNREACHABLE, "connection refused")
    return graph


def test_links_to_unopened_lots_are_not_recorded() -> None:
    record = trace_record(report(graph_with_gaps()), "oem")
    # The refused and the unreachable lot are neither lots nor links of the model.
    assert {lot.id for lot in record.lots} == {PACK, CELL}
    assert {e.input for e in record.edges} == {CELL}
    assert record.summary.gaps == 2  # the record still notes both gaps
    assert record.summary.caller == "oem"


def test_withheld_masses_and_materials_are_recorded_as_unknown() -> None:
    record = trace_record(report(graph_with_gaps()), "oem")
    # Both deliveries are kept as they were seen: 300 kg, and one withheld (None, not 0).
    assert sorted(record.edges, key=lambda e: e.kilograms is None) == [
        ModelEdge(PACK, CELL, 300.0),
        ModelEdge(PACK, CELL, None),
    ]
    cell = next(m for m in record.lots if m.id == CELL)
    assert (cell.owner, cell.material, cell.quantity_kg) == ("cell", None, None)
