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
    known_material,
)

__all__ = ["ANONYMOUS", "trace_record"]

# Until callers are verified by token, every trace is recorded under this caller.
ANONYMOUS = "anonymous"


def trace_record(
    report: TraceReport, caller: str = ANONYMOUS, receipts: tuple[str, ...] = ()
) -> TraceRecord:
    """Ids, owners, material, mass, facilities and links of a trace, plus its summary.

    Only what the owners' own nodes answered enters the model: the lots the trace
    opened, and a link only where its input lot was opened too. A link to a lot the
    trace could not open (withheld, refused, unreachable, invalid...) is a claim of
    the consumer's node that no answer of the input's owner backs, so it stays out;
    the record's gap count still notes it. A withheld mass is recorded as unknown
    (None), never as 0 kg: the store keeps what an earlier trace knew. ``receipts``
    are the node answers' log receipts (gateway.evidence.receipt_lines).
    """
    graph, attribution = report.graph, report.attribution
    lots = []
    for lot in graph.lots.values():
        f = lot.facility
        facility = (
            None
            if f is None
            else ModelFacility(f.id, lot.owner, f.name, f.kind, f.country, f.region)
        )
        material = known_material(lot.material)
        lots.append(ModelLot(lot.id, lot.owner, material, lot.quantity_kg, facility))
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
        receipts=receipts,
    )
    edges = tuple(
        ModelEdge(consumer, link.lot, link.kilograms)
        for consumer, link in graph.edges()
        if link.lot in graph.lots
    )
    return TraceRecord(summary, tuple(lots), edges)
