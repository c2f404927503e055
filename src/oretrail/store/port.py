"""The GraphStore port: what a participant's node needs from wherever its data lives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from oretrail.domain.model import Certificate, Facility, Lot, Organisation, Quantity, Shipment

__all__ = ["Consumption", "GraphStore"]


@dataclass(frozen=True, slots=True)
class Consumption:
    """One of our lots consumed ``quantity`` of the asked-for lot."""

    consumer: str
    quantity: Quantity


class GraphStore(Protocol):
    """One organisation's lots, links, facilities, shipments and certificates."""

    async def organisation(self) -> Organisation:
        """The organisation this store belongs to."""
        ...

    async def facilities(self) -> Sequence[Facility]:
        """Its facilities, by id."""
        ...

    async def lots(self, ids: Sequence[str]) -> dict[str, Lot]:
        """The lots among ``ids`` that this organisation holds, by id."""
        ...

    async def consumers(self, ids: Sequence[str]) -> dict[str, list[Consumption]]:
        """For each id (ours or a supplier's), our lots that list it as an input."""
        ...

    async def shipments(self, ids: Sequence[str]) -> dict[str, list[Shipment]]:
        """For each of our lot ids, where we shipped it."""
        ...

    async def certificates(self, subjects: Sequence[str]) -> list[Certificate]:
        """Certificates about any of the given facilities or the organisation, by id."""
        ...

    async def lots_at(self, facility: str) -> list[str]:
        """Ids of the lots produced at one of our facilities, sorted."""
        ...
