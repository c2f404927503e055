"""The ModelStore port: the gateway's model of the supply chain, and its records.

It holds what the consortium may know, never a node's confidential attributes:
participants and endpoints, facilities, the lot structure traces discovered (ids,
owners, material, mass, links), who supplies whom by material, and trace records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

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
    "supply_links",
]


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
    consumer: str
    input: str
    kilograms: float


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
    lot: str
    owner: str
    quantity_kg: float
    allocated_kg: float
    outputs: int


def supply_links(record: TraceRecord) -> list[SupplyLink]:
    """Who supplied whom, by the material of the input lot, in a trace's edges."""
    lots = {lot.id: lot for lot in record.lots}
    links = set()
    for edge in record.edges:
        supplier, customer = lots.get(edge.input), lots.get(edge.consumer)
        if supplier is None or customer is None or supplier.owner == customer.owner:
            continue
        links.add(SupplyLink(supplier.owner, customer.owner, supplier.material or "unknown"))
    return sorted(links, key=lambda s: (s.material, s.supplier, s.customer))


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
        """Newest first."""
        ...

    async def supply_network(self, material: str | None) -> list[SupplyLink]:
        """Sorted by material, supplier, customer."""
        ...

    async def exposed_products(
        self, *, lot: str | None, facility: str | None, caller: str | None
    ) -> list[str]:
        """Roots of recorded traces that hold material from the lot or facility, sorted."""
        ...

    async def over_allocations(self, tolerance: float) -> list[OverAllocation]:
        """Lots whose recorded consumption exceeds their quantity, sorted by id."""
        ...
