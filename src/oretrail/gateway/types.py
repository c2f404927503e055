"""GraphQL types of the gateway's answers: traces, origins, gaps, risks, exposure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from oretrail.domain.attribution import Gap
from oretrail.domain.lotgraph import GapReason
from oretrail.domain.risks import Check, RiskKind, allocation_only
from oretrail.gateway.exposure import Exposure
from oretrail.gateway.tracing import TraceReport
from oretrail.graphql_types import CustodyModel
from oretrail.store.model_port import TraceSummary

__all__ = [
    "ExposureType",
    "OverAllocationType",
    "ParticipantType",
    "SupplyLinkType",
    "TraceRecordType",
    "TraceType",
    "exposure_type",
    "trace_record_type",
    "trace_type",
]

GapReasonType = strawberry.enum(GapReason, name="GapReason")
RiskKindType = strawberry.enum(RiskKind, name="RiskKind")
CheckType = strawberry.enum(Check, name="Check")

ALLOCATION_NOTE = (
    "Some origins are reached through a mass-balance or book-and-claim step: behind it, "
    "origin shares are allocations of the declared volumes, not the physical content "
    "of the product."
)


@strawberry.type
class ElementShare:
    element: str
    share: float
    approximate: bool


@strawberry.type
class OriginFacility:
    id: str
    name: str
    kind: str
    country: str
    region: str
    latitude: float | None
    longitude: float | None
    artisanal: bool
    cahra: bool
    activities: list[str]


@strawberry.type
class Origin:
    lot: strawberry.ID
    owner: str
    material: str
    facility: OriginFacility | None
    shares: list[ElementShare]
    custody: CustodyModel | None  # type: ignore[valid-type]
    recycled_post_consumer: float | None
    recycled_pre_consumer: float | None


@strawberry.type
class ElementCoverage:
    element: str
    coverage: float
    unknown: float


@strawberry.type
class GapType:
    lot: strawberry.ID
    owner: str
    reason: GapReasonType  # type: ignore[valid-type]
    detail: str
    shares: list[ElementShare]
    via: strawberry.ID | None


@strawberry.type
class RiskType:
    kind: RiskKindType  # type: ignore[valid-type]
    lot: strawberry.ID | None
    owner: str | None
    evidence: str
    shares: list[ElementShare] = strawberry.field(
        description="The share of the product's elements the flag concerns."
    )


@strawberry.type(description="A check that could not be made on a lot, and why.")
class NotChecked:
    check: CheckType  # type: ignore[valid-type]
    lot: strawberry.ID
    owner: str
    reason: str


@strawberry.type
class TraceLot:
    id: strawberry.ID
    owner: str
    opened: bool
    material: str | None
    custody: CustodyModel | None  # type: ignore[valid-type]


@strawberry.type
class TraceEdge:
    consumer: strawberry.ID
    input: strawberry.ID
    kilograms: float | None


def _evidence(root: TraceType) -> JSON | None:
    """Built only when asked for: a large trace's bundle holds every node answer."""
    return None if root.bundle is None else JSON(root.bundle())


@strawberry.type
class TraceType:
    record_id: strawberry.ID
    root: strawberry.ID
    as_of: date
    max_depth: int
    elements: list[str]
    origins: list[Origin]
    coverage: list[ElementCoverage]
    gaps: list[GapType]
    risks: list[RiskType]
    not_checked: list[NotChecked]
    allocation_note: str | None = strawberry.field(
        description="Set when origin shares are allocations, not physical content."
    )
    lots: list[TraceLot]
    edges: list[TraceEdge]
    bundle: strawberry.Private[Callable[[], dict[str, Any]] | None] = None

    evidence: JSON | None = strawberry.field(
        resolver=_evidence,
        description=(
            "The trace's evidence bundle (JSON; DESIGN.md Trust 7): every node answer "
            "the figures rest on, as the node signed it, with the caller's request, the "
            "gaps, the public inputs and the figures; check it with `oretrail verify`."
        ),
    )


@strawberry.type
class ParticipantType:
    id: str
    name: str
    roles: list[str]
    country: str


@strawberry.type
class ExposureGap:
    lot: strawberry.ID
    owner: str
    reason: GapReasonType  # type: ignore[valid-type]
    detail: str


@strawberry.type
class ExposureEdge:
    lot: strawberry.ID
    consumer: strawberry.ID


@strawberry.type
class ExposureType:
    start: list[strawberry.ID]
    products: list[strawberry.ID]
    reached: list[strawberry.ID]
    edges: list[ExposureEdge]
    gaps: list[ExposureGap]


def _shares(shares: Mapping[str, float], approximate: frozenset[str]) -> list[ElementShare]:
    return [
        ElementShare(element=e, share=s, approximate=e in approximate)
        for e, s in sorted(shares.items())
    ]


def _gap(gap: Gap) -> GapType:
    return GapType(
        lot=strawberry.ID(gap.lot),
        owner=gap.owner,
        reason=gap.reason,
        detail=gap.detail,
        shares=_shares(gap.shares, frozenset()),
        via=None if gap.via is None else strawberry.ID(gap.via),
    )


def trace_type(
    report: TraceReport,
    record_id: str,
    bundle: Callable[[], dict[str, Any]] | None = None,
) -> TraceType:
    """The GraphQL view of a finished trace, built once so nothing is resolved twice.

    ``bundle`` builds the evidence bundle, only when the ``evidence`` field is asked.
    """
    graph, attribution = report.graph, report.attribution
    origins = []
    for o in attribution.origins:
        lot = graph.lots[o.lot]
        f = lot.facility
        origins.append(
            Origin(
                lot=strawberry.ID(o.lot),
                owner=o.owner,
                material=lot.material,
                facility=None
                if f is None
                else OriginFacility(
                    id=f.id,
                    name=f.name,
                    kind=f.kind,
                    country=f.country,
                    region=f.region,
                    latitude=f.latitude,
                    longitude=f.longitude,
                    artisanal=f.artisanal,
                    cahra=f.cahra,
                    activities=sorted(a.value for a in f.activities or ()),
                ),
                shares=_shares(o.shares, o.approximate),
                custody=o.custody,
                recycled_post_consumer=lot.recycled_post_consumer,
                recycled_pre_consumer=lot.recycled_pre_consumer,
            )
        )
    lots = [
        TraceLot(
            id=strawberry.ID(i),
            owner=lot.owner,
            opened=True,
            material=lot.material,
            custody=lot.custody,
        )
        for i, lot in sorted(graph.lots.items())
    ]
    lots += [
        TraceLot(id=strawberry.ID(i), owner=u.owner, opened=False, material=None, custody=None)
        for i, u in sorted(graph.unopened.items())
    ]
    return TraceType(
        record_id=strawberry.ID(record_id),
        root=strawberry.ID(graph.root),
        as_of=report.as_of,
        max_depth=report.max_depth,
        elements=list(attribution.elements),
        origins=origins,
        coverage=[
            ElementCoverage(element=e, coverage=c, unknown=max(0.0, 1 - c))
            for e, c in sorted(attribution.coverage.items())
        ],
        gaps=[_gap(g) for g in attribution.gaps],
        risks=[
            RiskType(
                kind=r.kind,
                lot=None if r.lot is None else strawberry.ID(r.lot),
                owner=r.owner,
                evidence=r.evidence,
                shares=_shares(r.shares, frozenset()),
            )
            for r in report.risks
        ],
        not_checked=[
            NotChecked(check=u.check, lot=strawberry.ID(u.lot), owner=u.owner, reason=u.reason)
            for u in report.unchecked
        ],
        allocation_note=ALLOCATION_NOTE if allocation_only(attribution) else None,
        lots=lots,
        edges=[
            TraceEdge(
                consumer=strawberry.ID(c), input=strawberry.ID(link.lot), kilograms=link.kilograms
            )
            for c, link in graph.edges()
        ],
        bundle=bundle,
    )


@strawberry.type
class TraceRecordType:
    id: strawberry.ID
    root: strawberry.ID
    traced_by: str
    at: datetime
    as_of: date
    max_depth: int
    coverage: list[ElementCoverage]
    origins: list[strawberry.ID]
    gaps: int
    receipts: list[str] = strawberry.field(
        description=(
            "The log receipts of the node answers this trace rests on, one per answer: "
            "'<node> <leaf index> <tree size> <root, base64> <leaf hash, hex>'; ask a node "
            "for a consistency proof from that tree size to check the leaf is still logged."
        )
    )


@strawberry.type
class SupplyLinkType:
    supplier: str
    customer: str
    material: str


@strawberry.type
class OverAllocationType:
    lot: strawberry.ID
    owner: str
    quantity_kg: float
    allocated_kg: float
    outputs: int | None = strawberry.field(
        description="Consuming lots in the caller's own records; null for its own lots' totals."
    )


def trace_record_type(s: TraceSummary) -> TraceRecordType:
    return TraceRecordType(
        id=strawberry.ID(s.id),
        root=strawberry.ID(s.root),
        traced_by=s.caller,
        at=s.at,
        as_of=s.as_of,
        max_depth=s.max_depth,
        coverage=[
            ElementCoverage(element=e, coverage=c, unknown=max(0.0, 1 - c))
            for e, c in zip(s.elements, s.coverage, strict=True)
        ],
        origins=[strawberry.ID(o) for o in s.origins],
        gaps=s.gaps,
        receipts=list(s.receipts),
    )


def exposure_type(exposure: Exposure) -> ExposureType:
    return ExposureType(
        start=[strawberry.ID(i) for i in exposure.start],
        products=[strawberry.ID(i) for i in exposure.products],
        reached=[strawberry.ID(i) for i in exposure.reached],
        edges=[
            ExposureEdge(lot=strawberry.ID(i), consumer=strawberry.ID(c)) for i, c in exposure.edges
        ],
        gaps=[
            ExposureGap(lot=strawberry.ID(g.lot), owner=g.owner, reason=g.reason, detail=g.detail)
            for g in exposure.gaps
        ],
    )
