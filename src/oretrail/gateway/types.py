"""GraphQL types of the gateway's answers: traces, origins, gaps, risks, exposure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from oretrail.domain.attribution import Gap
from oretrail.domain.lotgraph import GapReason
from oretrail.domain.risks import Check, RiskKind, allocation_only
from oretrail.gateway.exposure import Exposure
from oretrail.gateway.tracing import TraceReport
from oretrail.graphql_types import CustodyModel
from oretrail.standards.battery_pass import battery_passport
from oretrail.standards.dpp import product_passport
from oretrail.standards.dpp_sources import Party, TracedProduct
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

GapReasonType = strawberry.enum(
    GapReason,
    name="GapReason",
    description="Why part of a trace could not be followed: WITHHELD (the owner's policy "
    "does not give it to the caller), UNREACHABLE, TIMEOUT or INVALID_RESPONSE (its node "
    "failed), UNKNOWN_OWNER (no such member), NOT_FOUND (its owner does not know it), "
    "DEPTH_LIMIT or LOT_LIMIT (the trace's limits), CYCLE (a lot that consumes itself), "
    "UNDECLARED_INPUTS (an opened lot with no inputs, not made at an extraction or "
    "scrap-collection site), UNSUPPORTED_CLAIM (a lot claims more of an element than its "
    "inputs supply).",
)
RiskKindType = strawberry.enum(
    RiskKind,
    name="RiskKind",
    description="The kind of a risk flag (OECD Due Diligence Guidance, Annex II; "
    "ISO 22095 custody; mass balance).",
)
CheckType = strawberry.enum(
    Check,
    name="Check",
    description="A check the trace makes on each lot, and may be unable to make.",
)

ALLOCATION_NOTE = (
    "Some origins are reached through a mass-balance or book-and-claim step: behind it, "
    "origin shares are allocations of the declared volumes, not the physical content "
    "of the product."
)


@strawberry.type(description="The share of one element of the product that a record concerns.")
class ElementShare:
    element: str = strawberry.field(description="IUPAC element symbol, e.g. Co.")
    share: float = strawberry.field(
        description="Fraction of the product's mass of this element, from 0 to 1."
    )
    approximate: bool = strawberry.field(
        description="True when some step's contents were withheld or missing, so the share "
        "rests on mass shares among the inputs rather than on element contents."
    )


@strawberry.type(description="The facility where an origin lot was extracted or collected.")
class OriginFacility:
    id: str = strawberry.field(
        description="Facility id, urn:oretrail:facility:<organisation>:<local-id>."
    )
    name: str = strawberry.field(description="The facility's name.")
    kind: str = strawberry.field(description="What the facility is, as its owner says (e.g. mine).")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    region: str = strawberry.field(description="Region within the country, as its owner names it.")
    latitude: float | None = strawberry.field(
        description="WGS 84 latitude in degrees, from -90 to 90; null if not given."
    )
    longitude: float | None = strawberry.field(
        description="WGS 84 longitude in degrees, from -180 to 180; null if not given."
    )
    artisanal: bool = strawberry.field(
        description="True for an artisanal and small-scale mining (ASM) site."
    )
    cahra: bool = strawberry.field(
        description="True when the owner marks the site as in a conflict-affected or "
        "high-risk area (OECD Due Diligence Guidance)."
    )
    activities: list[str] = strawberry.field(
        description="What the facility does: EXTRACTION, SCRAP_COLLECTION, "
        "PROCESSING_REFINING, and the other activities of the closed list."
    )


@strawberry.type(
    description="A lot where the trace ends at an extraction or scrap-collection site, and "
    "the share of the product's elements it supplies."
)
class Origin:
    lot: strawberry.ID = strawberry.field(
        description="Lot id, urn:oretrail:lot:<organisation>:<local-id>."
    )
    owner: str = strawberry.field(description="The organisation that owns the lot.")
    material: str = strawberry.field(description="The lot's material, as its owner names it.")
    facility: OriginFacility | None = strawberry.field(
        description="Where the lot was produced; null when withheld."
    )
    shares: list[ElementShare] = strawberry.field(
        description="The share of each element of the product that came from this lot."
    )
    custody: CustodyModel | None = strawberry.field(  # type: ignore[valid-type]
        description="The weakest chain-of-custody model (ISO 22095) on the path from this "
        "origin to the product; null when not known."
    )
    recycled_post_consumer: float | None = strawberry.field(
        description="Post-consumer recycled fraction of the lot's mass, from 0 to 1."
    )
    recycled_pre_consumer: float | None = strawberry.field(
        description="Pre-consumer recycled fraction of the lot's mass, from 0 to 1."
    )


@strawberry.type(
    description="How much of one element of the product the trace followed to origins."
)
class ElementCoverage:
    element: str = strawberry.field(description="IUPAC element symbol, e.g. Co.")
    coverage: float = strawberry.field(
        description="Fraction of the element traced to origins, from 0 to 1; coverage "
        "plus the shares of the element's gaps is 1."
    )
    unknown: float = strawberry.field(
        description="Fraction of the element not traced (1 - coverage), from 0 to 1."
    )


@strawberry.type(
    name="Gap",
    description="A part of the trace that could not be followed, with the share of the "
    "product behind it.",
)
class GapType:
    lot: strawberry.ID = strawberry.field(description="The lot where the trace stopped.")
    owner: str = strawberry.field(description="The organisation that owns that lot.")
    reason: GapReasonType = strawberry.field(  # type: ignore[valid-type]
        description="Why the trace stopped there."
    )
    detail: str = strawberry.field(description="What happened, for people; no code reads it.")
    shares: list[ElementShare] = strawberry.field(
        description="The share of each element of the product behind this gap."
    )
    via: strawberry.ID | None = strawberry.field(
        description="The lot that consumed the unfollowed lot; null at the product itself."
    )


@strawberry.type(name="Risk", description="A risk flag raised by the trace, with its evidence.")
class RiskType:
    kind: RiskKindType = strawberry.field(  # type: ignore[valid-type]
        description="What kind of risk."
    )
    lot: strawberry.ID | None = strawberry.field(
        description="The lot the flag is about; null for a flag on the whole trace."
    )
    owner: str | None = strawberry.field(
        description="The organisation that owns that lot; null with lot."
    )
    evidence: str = strawberry.field(description="Why the flag is raised, for people.")
    shares: list[ElementShare] = strawberry.field(
        description="The share of the product's elements the flag concerns."
    )


@strawberry.type(description="A check that could not be made on a lot, and why.")
class NotChecked:
    check: CheckType = strawberry.field(  # type: ignore[valid-type]
        description="The check that could not be made."
    )
    lot: strawberry.ID = strawberry.field(description="The lot it could not be made on.")
    owner: str = strawberry.field(description="The organisation that owns that lot.")
    reason: str = strawberry.field(description="Why not, for people.")


@strawberry.type(description="A lot the trace reached: a node of the lot graph.")
class TraceLot:
    id: strawberry.ID = strawberry.field(
        description="Lot id, urn:oretrail:lot:<organisation>:<local-id>."
    )
    owner: str = strawberry.field(description="The organisation that owns the lot.")
    opened: bool = strawberry.field(
        description="True when its owner's node gave the lot; false when it is a gap."
    )
    material: str | None = strawberry.field(
        description="The lot's material; null for a lot not opened."
    )
    custody: CustodyModel | None = strawberry.field(  # type: ignore[valid-type]
        description="The lot's chain-of-custody model (ISO 22095); null for a lot not opened."
    )


@strawberry.type(description="An input link of the lot graph: the consumer lot consumed the input.")
class TraceEdge:
    consumer: strawberry.ID = strawberry.field(description="The lot made from the input.")
    input: strawberry.ID = strawberry.field(description="The lot consumed.")
    kilograms: float | None = strawberry.field(
        description="Mass consumed in kilograms (>= 0); null when the owner withholds it."
    )
    shares: list[ElementShare] = strawberry.field(
        description=(
            "The share (0 to 1) of the product's content of each element that passed from "
            "the input into the consumer; every link between the same two lots carries "
            "the pair's figure."
        )
    )


def _evidence(root: TraceType) -> JSON | None:
    """Built only when asked for: a large trace's bundle holds every node answer."""
    return None if root.bundle is None else JSON(root.bundle())


def _passport(
    root: TraceType, build: Callable[[TracedProduct, datetime], dict[str, Any]]
) -> JSON | None:
    """A passport of the trace, built when asked for; None for a trace without its caller."""
    if root.product is None:
        return None
    return JSON(build(root.product, datetime.now(UTC)))


def _product_passport(root: TraceType) -> JSON | None:
    return _passport(root, product_passport)


def _battery_passport(root: TraceType) -> JSON | None:
    return _passport(root, battery_passport)


@strawberry.type(
    name="Trace",
    description="A finished upstream trace: origins, coverage, gaps and risks of one product lot.",
)
class TraceType:
    record_id: strawberry.ID = strawberry.field(
        description="Id of the trace's record in the gateway's history (traceHistory)."
    )
    root: strawberry.ID = strawberry.field(description="The lot traced.")
    as_of: date = strawberry.field(description="The day certificates were judged on.")
    max_depth: int = strawberry.field(
        description="Input hops followed at most, from 1 to the gateway's maxDepth (50 by default)."
    )
    elements: list[str] = strawberry.field(
        description="The elements attributed (IUPAC symbols): those the root declares."
    )
    origins: list[Origin] = strawberry.field(description="Where the elements came from.")
    coverage: list[ElementCoverage] = strawberry.field(
        description="Per element, the fraction traced to origins."
    )
    gaps: list[GapType] = strawberry.field(description="Where the trace could not go on, and why.")
    risks: list[RiskType] = strawberry.field(description="Risk flags, with their evidence.")
    not_checked: list[NotChecked] = strawberry.field(
        description="Checks that could not be made, and why."
    )
    allocation_note: str | None = strawberry.field(
        description="Set when origin shares are allocations, not physical content."
    )
    lots: list[TraceLot] = strawberry.field(description="Every lot reached (the graph's nodes).")
    edges: list[TraceEdge] = strawberry.field(
        description="Every input link followed (the graph's edges)."
    )
    bundle: strawberry.Private[Callable[[], dict[str, Any]] | None] = None

    evidence: JSON | None = strawberry.field(
        resolver=_evidence,
        description=(
            "The trace's evidence bundle (JSON; DESIGN.md Trust 7): every node answer "
            "the figures rest on, as the node signed it, with the caller's request, the "
            "gaps, the public inputs and the figures; check it with `oretrail verify`."
        ),
    )
    # The trace for its passports, built only when a passport field is asked for.
    product: strawberry.Private[TracedProduct | None] = None
    product_passport: JSON | None = strawberry.field(
        resolver=_product_passport,
        description="The UNTP Digital Product Passport (0.6.1) of the traced lot, a W3C "
        "VC 2.0, unsigned: the caller's organisation signs it with its own key "
        "(`oretrail export dpp`). docs/standards.md maps its fields.",
    )
    battery_passport: JSON | None = strawberry.field(
        resolver=_battery_passport,
        description="EU battery passport data (Battery Pass data model 1.2.0) of the traced "
        "lot as a VC 2.0, unsigned (`oretrail export battery-passport` signs it).",
    )


@strawberry.type(name="Participant", description="An organisation of the consortium.")
class ParticipantType:
    id: str = strawberry.field(description="Organisation id (a slug), e.g. nordvolt.")
    name: str = strawberry.field(description="The organisation's name.")
    roles: list[str] = strawberry.field(
        description="Its roles in the registry: MINE, REFINER, OEM, NGO, AUDITOR..."
    )
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="A lot the exposure trace could not follow forward, and why.")
class ExposureGap:
    lot: strawberry.ID = strawberry.field(description="The lot not followed.")
    owner: str = strawberry.field(description="The organisation that owns it.")
    reason: GapReasonType = strawberry.field(  # type: ignore[valid-type]
        description="Why it was not followed."
    )
    detail: str = strawberry.field(description="What happened, for people.")


@strawberry.type(description="A forward link: the consumer lot was made from the lot.")
class ExposureEdge:
    lot: strawberry.ID = strawberry.field(description="The lot consumed.")
    consumer: strawberry.ID = strawberry.field(description="The lot made from it.")


@strawberry.type(
    name="Exposure",
    description="A downstream trace: the products that hold material from the start lots.",
)
class ExposureType:
    start: list[strawberry.ID] = strawberry.field(description="The lots followed forward.")
    products: list[strawberry.ID] = strawberry.field(
        description="Lots reached that no lot consumed further (the products)."
    )
    reached: list[strawberry.ID] = strawberry.field(description="Every lot reached.")
    edges: list[ExposureEdge] = strawberry.field(description="Every forward link followed.")
    gaps: list[ExposureGap] = strawberry.field(description="Lots that could not be followed.")


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
    traced_by: Party | None = None,
    parties: Mapping[str, str] | None = None,
    *,
    bundle: Callable[[], dict[str, Any]] | None = None,
) -> TraceType:
    """The GraphQL view of a finished trace, built once so nothing is resolved twice.

    With ``traced_by`` (the caller's organisation) the trace also answers its
    passports, unsigned, naming organisations by ``parties`` (registry id -> name).
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
        product=None
        if traced_by is None
        else TracedProduct(graph, attribution, record_id, traced_by, dict(parties or {})),
        lots=lots,
        edges=[
            TraceEdge(
                consumer=strawberry.ID(c),
                input=strawberry.ID(link.lot),
                kilograms=link.kilograms,
                shares=_shares(attribution.flows.get((c, link.lot), {}), frozenset()),
            )
            for c, link in graph.edges()
        ],
        bundle=bundle,
    )


@strawberry.type(name="TraceRecord", description="A trace as the gateway's history recorded it.")
class TraceRecordType:
    id: strawberry.ID = strawberry.field(description="The record's id.")
    root: strawberry.ID = strawberry.field(description="The lot traced.")
    traced_by: str = strawberry.field(description="The organisation that ran the trace.")
    at: datetime = strawberry.field(description="When the trace was recorded (UTC).")
    as_of: date = strawberry.field(description="The day certificates were judged on.")
    max_depth: int = strawberry.field(description="Input hops followed at most.")
    coverage: list[ElementCoverage] = strawberry.field(
        description="Per element, the fraction traced to origins."
    )
    origins: list[strawberry.ID] = strawberry.field(description="The origin lots found.")
    gaps: int = strawberry.field(description="How many gaps the trace had (>= 0).")
    receipts: list[str] = strawberry.field(
        description=(
            "The log receipts of the node answers this trace rests on, one per answer: "
            "'<node> <leaf index> <tree size> <root, base64> <leaf hash, hex>'; ask a node "
            "for a consistency proof from that tree size to check the leaf is still logged."
        )
    )


@strawberry.type(name="SupplyLink", description="One organisation supplied a material to another.")
class SupplyLinkType:
    supplier: str = strawberry.field(description="The supplying organisation's id.")
    customer: str = strawberry.field(description="The customer organisation's id.")
    material: str = strawberry.field(description="The material supplied.")


@strawberry.type(
    name="OverAllocation",
    description="A lot whose recorded consumption exceeds its quantity (mass balance).",
)
class OverAllocationType:
    lot: strawberry.ID = strawberry.field(description="The lot consumed beyond its quantity.")
    owner: str = strawberry.field(description="The organisation that owns it.")
    quantity_kg: float = strawberry.field(description="The lot's quantity in kilograms (>= 0).")
    allocated_kg: float = strawberry.field(
        description="Kilograms of it that recorded links consumed (>= 0)."
    )
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
