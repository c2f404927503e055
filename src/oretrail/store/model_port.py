"""The ModelStore port: the gateway's model of the supply chain, and its records.

It holds what the consortium may know, never a node's confidential attributes:
participants and endpoints, facilities, the lot structure traces discovered (ids,
owners, material, mass, links), who supplies whom by material, and trace records.

Rules every adapter keeps (../shared/DESIGN.md, "The supply-chain model in Neo4j";
docs/decisions.md, "Whose traces the model answers from"):

- Each record is kept under the organisation that traced (``TraceSummary.caller``),
  and each caller is answered from its own organisation's records only: supply
  links, exposure, history and over-allocations. The one exception: a lot's owner
  sees the over-allocation of its own lots as totals over every recorded trace,
  without the consuming lots (``OverAllocation.outputs`` is None).
- Links to the same input in one record add up (two deliveries are two
  consumptions): see :func:`record_links`.
- A figure a later trace could not see (None: withheld, failed) never erases or
  lowers a known one; across records the same link keeps its best known mass
  (:func:`best_known`), so a link seen twice is never counted twice.
- A placeholder (no material, or a placeholder name) is replaced once a trace
  knows better, and never replaces a known value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from oretrail.domain.risk_management import Decision, RiskRecord

__all__ = [
    "ModelEdge",
    "ModelFacility",
    "ModelLot",
    "ModelStore",
    "OverAllocation",
    "ParticipantRecord",
    "SupplyLink",
    "TraceRecord",
    "TraceSummary",
    "best_known",
    "decode_risk_record",
    "encode_risk_record",
    "known_material",
    "record_links",
]

# What a trace reports in place of a material it could not see; never kept as one.
PLACEHOLDER_MATERIALS = frozenset({"", "(withheld)", "unknown", "unknown material"})
# How a supply link names a material no trace of the caller's organisation saw.
UNKNOWN_MATERIAL = "unknown"


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    id: str
    name: str
    roles: tuple[str, ...]
    country: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class ModelFacility:
    id: str
    org: str
    name: str
    kind: str
    country: str
    region: str


@dataclass(frozen=True, slots=True)
class ModelLot:
    id: str
    owner: str
    material: str | None = None
    quantity_kg: float | None = None
    facility: ModelFacility | None = None


@dataclass(frozen=True, slots=True)
class ModelEdge:
    """Lot ``consumer`` consumed ``kilograms`` kg of lot ``input``; None: not seen (withheld)."""

    consumer: str
    input: str
    kilograms: float | None


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """What the model remembers of one trace."""

    id: str
    root: str
    caller: str
    at: datetime
    as_of: date
    max_depth: int
    elements: tuple[str, ...]
    coverage: tuple[float, ...]
    origins: tuple[str, ...]
    gaps: int
    # The log receipts of the node answers the trace rests on, one line each:
    # "<node> <leaf index> <tree size> <root, base64> <leaf hash, hex>" (DESIGN.md Trust 6),
    # so a later audit can ask each node to prove the leaf is still in its log.
    receipts: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TraceSummary:
        """From the plain form both stores keep: dates as ISO 8601 text."""
        return cls(
            id=raw["id"],
            root=raw["root"],
            caller=raw["caller"],
            at=datetime.fromisoformat(raw["at"]),
            as_of=date.fromisoformat(raw["as_of"]),
            max_depth=raw["max_depth"],
            elements=tuple(raw["elements"]),
            coverage=tuple(raw["coverage"]),
            origins=tuple(raw["origins"]),
            gaps=raw["gaps"],
            receipts=tuple(raw.get("receipts") or ()),
        )


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """A finished trace and the lot structure it discovered."""

    summary: TraceSummary
    lots: tuple[ModelLot, ...]
    edges: tuple[ModelEdge, ...]


@dataclass(frozen=True, slots=True)
class SupplyLink:
    supplier: str
    customer: str
    material: str


@dataclass(frozen=True, slots=True)
class OverAllocation:
    """A lot whose recorded consumption (kg) exceeds its quantity (kg).

    ``outputs`` is the number of consuming lots in the caller's own records; None
    for a lot the caller owns, answered as totals over every recorded trace
    without saying who consumed it.
    """

    lot: str
    owner: str
    quantity_kg: float
    allocated_kg: float
    outputs: int | None


def known_material(material: str | None) -> str | None:
    """The material, or None where a trace only had a placeholder for it."""
    if material is None or material.strip().lower() in PLACEHOLDER_MATERIALS:
        return None
    return material


def best_known(known: float | None, seen: float | None) -> float | None:
    """The mass to keep for a link seen again: unknown never erases, and never lowers.

    Two records of one link are the same consumption seen twice, so they are not
    added; the larger known figure is kept, because a figure a trace saw only in
    part (some deliveries withheld) is a lower bound.
    """
    if seen is None:
        return known
    if known is None:
        return seen
    return max(known, seen)


def record_links(record: TraceRecord) -> dict[tuple[str, str], float | None]:
    """The links of one record by (consumer, input), with duplicates added up.

    Two links between the same pair of lots in one record are two deliveries, so
    two consumptions. Their sum counts the known masses; it is None only when no
    mass of that pair was seen (a withheld mass is never read as zero, nor as a
    known total).
    """
    links: dict[tuple[str, str], float | None] = {}
    for edge in record.edges:
        key = (edge.consumer, edge.input)
        if key not in links:
            links[key] = edge.kilograms
        elif edge.kilograms is not None:
            links[key] = (links[key] or 0.0) + edge.kilograms
    return links


class ModelStore(Protocol):
    """The gateway's supply-chain model; every write is committed before it returns."""

    async def ping(self) -> None:
        """Raise StoreUnavailable if the store cannot be used now."""
        ...

    async def register_participants(self, participants: Sequence[ParticipantRecord]) -> None: ...

    async def participants(self) -> list[ParticipantRecord]: ...

    async def record_trace(self, record: TraceRecord) -> None: ...

    async def trace_history(
        self, *, root: str | None, caller: str | None, limit: int
    ) -> list[TraceSummary]:
        """Newest first; ``caller`` is the tracing organisation (None: every one)."""
        ...

    async def supply_network(self, material: str | None, *, caller: str) -> list[SupplyLink]:
        """Who supplied whom in the links ``caller``'s organisation recorded.

        Sorted by material, supplier, customer; a material none of its traces saw
        reads "unknown".
        """
        ...

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str
    ) -> list[str]:
        """Roots of ``caller``'s traces holding material from the lot or facility, sorted.

        Walks only the links and facilities ``caller``'s organisation recorded.
        """
        ...

    async def over_allocations(self, tolerance: float, *, caller: str) -> list[OverAllocation]:
        """Lots consumed beyond ``quantity · (1 + tolerance)``, sorted by id.

        From the links ``caller``'s organisation recorded, against the quantity its
        traces saw; plus, for lots ``caller`` owns, the totals over every recorded
        trace (``outputs`` None). Masses in kg.
        """
        ...

    async def record_risk_decision(self, record: RiskRecord) -> None:
        """Keep a verified risk-management record under its organisation; the same record
        (same id) kept twice is kept once."""
        ...

    async def risk_records(self, *, org: str) -> list[RiskRecord]:
        """The organisation's own risk-management records by signing time, then id
        (never another organisation's)."""
        ...

    async def transparency_answer(self, key: str) -> str | None:
        """The answer kept under ``key`` (an approved query, its variables and a closed
        reporting period), or None (DESIGN.md, Trust 5: one answer per period)."""
        ...

    async def keep_transparency_answer(self, key: str, answer: str) -> str:
        """Keep ``answer`` under ``key`` unless one is kept already; return the one kept.

        The first answer of a period wins, so concurrent runs return the same figures.
        """
        ...


def encode_risk_record(record: RiskRecord) -> dict[str, Any]:
    """A record as plain JSON values (dates as ISO 8601 text), for journals and Cypher."""
    return {
        "id": record.id,
        "org": record.org,
        "flag": record.flag,
        "lot": record.lot,
        "decision": record.decision.value,
        "rationale": record.rationale,
        "decided_on": record.decided_on.isoformat(),
        "review_by": None if record.review_by is None else record.review_by.isoformat(),
        "signed_at": record.signed_at.isoformat(),
        "token": record.token,
    }


def decode_risk_record(raw: Mapping[str, Any]) -> RiskRecord:
    review_by = raw.get("review_by")
    return RiskRecord(
        id=raw["id"],
        org=raw["org"],
        flag=raw["flag"],
        lot=raw.get("lot"),
        decision=Decision(raw["decision"]),
        rationale=raw["rationale"],
        decided_on=date.fromisoformat(raw["decided_on"]),
        review_by=None if review_by is None else date.fromisoformat(review_by),
        signed_at=datetime.fromisoformat(raw["signed_at"]),
        token=raw["token"],
    )
