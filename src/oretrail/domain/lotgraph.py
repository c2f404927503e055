"""The lot graph a trace discovers: lots it opened, lots it could not, and the links between.

The planner fills a :class:`LotGraph`; attribution, custody and risk rules read
it. Nothing here knows where the lots came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from oretrail.domain.model import Certificate, Custody, Facility, TransitPoint

__all__ = ["GapReason", "LotGraph", "TracedInput", "TracedLot", "Unopened"]


class GapReason(StrEnum):
    """Why part of a trace could not be followed (IRS calls such lots tombstones).

    Most reasons say why a lot could not be opened. UNDECLARED_INPUTS: an opened lot
    declares no inputs but was not made at an extraction or scrap-collection site.
    UNSUPPORTED_CLAIM: a lot claims more of an element than its inputs supply.
    """

    WITHHELD = "WITHHELD"
    UNREACHABLE = "UNREACHABLE"
    TIMEOUT = "TIMEOUT"
    INVALID_RESPONSE = "INVALID_RESPONSE"
    UNKNOWN_OWNER = "UNKNOWN_OWNER"
    NOT_FOUND = "NOT_FOUND"
    DEPTH_LIMIT = "DEPTH_LIMIT"
    LOT_LIMIT = "LOT_LIMIT"
    CYCLE = "CYCLE"
    UNDECLARED_INPUTS = "UNDECLARED_INPUTS"
    UNSUPPORTED_CLAIM = "UNSUPPORTED_CLAIM"


@dataclass(frozen=True, slots=True)
class TracedInput:
    """One input link as seen by the trace: the input lot and the mass consumed.

    ``kilograms`` is None when the owner's policy withholds quantities.
    """

    lot: str
    owner: str
    kilograms: float | None
    # The consumer's node's continuation grant for this input, forwarded to its owner.
    grant: str | None = None


@dataclass(frozen=True, slots=True)
class TracedLot:
    """What a trace learnt about one lot it opened."""

    id: str
    owner: str
    material: str
    quantity_kg: float | None
    contents: Mapping[str, float] | None
    custody: Custody | None
    facility: Facility | None = None
    certificates: tuple[Certificate, ...] = ()
    recycled_pre_consumer: float | None = None
    recycled_post_consumer: float | None = None
    inputs: tuple[TracedInput, ...] = ()
    # Field groups the owner's policy withheld from this caller.
    withheld: frozenset[str] = frozenset()
    produced_at: date | None = None
    # Transit points of the lot's shipments; None when not given to the caller.
    transit: tuple[TransitPoint, ...] | None = ()
    # Cradle-to-gate footprint and its unit (model.CARBON_FOOTPRINT_UNITS); None when
    # not declared or withheld (field group "emissions").
    carbon_footprint: float | None = None
    carbon_footprint_unit: str | None = None
    rated_capacity_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class Unopened:
    """A lot the trace reached but could not open, and why."""

    lot: str
    owner: str
    reason: GapReason
    detail: str


@dataclass(slots=True)
class LotGraph:
    """Opened lots by id, unopened lots by id, and the root the trace started from."""

    root: str
    lots: dict[str, TracedLot] = field(default_factory=dict)
    unopened: dict[str, Unopened] = field(default_factory=dict)

    def edges(self) -> Iterator[tuple[str, TracedInput]]:
        """Every (consumer id, input) pair among the opened lots."""
        for lot in self.lots.values():
            for link in lot.inputs:
                yield lot.id, link

    def owner_of(self, lot_id: str) -> str:
        if lot_id in self.lots:
            return self.lots[lot_id].owner
        if lot_id in self.unopened:
            return self.unopened[lot_id].owner
        return ""
