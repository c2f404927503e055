"""What the gateway's model keeps of a trace: the lot structure, never confidential attributes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from oretrail.gateway.tracing import TraceReport
from oretrail.store.model_port import (
    ModelEdge,
    ModelFacility,
    ModelLot,
    TraceRecord,
    TraceSummary,
)

__all__ = ["ANONYMOUS", "trace_record"]

# Until callers are verified by token, every trace is recorded under this caller.
ANONYMOUS = "anonymous"


def trace_record(report: TraceReport, caller: str = ANONYMOUS) -> TraceRecord:
    """Ids, owners, material, mass, facilities and links of a trace, plus its summary."""
    graph, attribution = report.graph, report.attribution
    lots = []
    for lot in graph.lots.values():
        f = lot.facility
        facility = (
            None
            if f is None
            else ModelFacility(f.id, lot.owner, f.name, f.kind, f.country, f.region)
        )
        lots.append(ModelLot(lot.id, lot.owner, lot.material, lot.quantity_kg, facility))
    lots += [ModelLot(u.lot, u.owner) for u in graph.unopened.values() if u.owner]
    summary = TraceSummary(
        id=str(uuid.uuid4()),
        root=graph.root,
        caller=caller,
        at=datetime.now(UTC),
        as_of=report.as_of,
        max_depth=report.max_depth,
        elements=attribution.elements,
        coverage=tuple(attribution.coverage[e] for e in attribution.elements),
        origins=tuple(o.lot for o in attribution.origins),
        gaps=len(attribution.gaps),
    )
    edges = tuple(
        # A mass the owner withheld counts as zero: over-allocation never flags on a guess.
        ModelEdge(consumer, link.lot, link.kilograms or 0.0)
        for consumer, link in graph.edges()
        if link.lot in graph.lots or (link.lot in graph.unopened and graph.unopened[link.lot].owner)
    )
    return TraceRecord(summary, tuple(lots), edges)
