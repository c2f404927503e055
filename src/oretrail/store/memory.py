"""MemoryGraphStore: the embedded default store, held in memory and loaded from a seed file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from oretrail.domain.model import Certificate, Facility, Lot, Organisation, Shipment
from oretrail.store.port import Consumption
from oretrail.store.seed import SeedData

__all__ = ["MemoryGraphStore"]


class MemoryGraphStore:
    """A GraphStore over one organisation's seed data, indexed for batched look-ups."""

    def __init__(self, seed: SeedData) -> None:
        self._seed = seed
        self._lots = {lot.id: lot for lot in seed.lots}
        self._consumers: dict[str, list[Consumption]] = defaultdict(list)
        for lot in seed.lots:
            for link in lot.inputs:
                self._consumers[link.lot].append(Consumption(lot.id, link.quantity))
        self._shipments: dict[str, list[Shipment]] = defaultdict(list)
        for shipment in seed.shipments:
            self._shipments[shipment.lot].append(shipment)
        self._by_facility: dict[str, list[str]] = defaultdict(list)
        for lot in seed.lots:
            self._by_facility[lot.facility].append(lot.id)

    async def organisation(self) -> Organisation:
        return self._seed.organisation

    async def facilities(self) -> Sequence[Facility]:
        return sorted(self._seed.facilities, key=lambda f: f.id)

    async def lots(self, ids: Sequence[str]) -> dict[str, Lot]:
        return {i: self._lots[i] for i in ids if i in self._lots}

    async def consumers(self, ids: Sequence[str]) -> dict[str, list[Consumption]]:
        return {i: list(self._consumers.get(i, ())) for i in ids}

    async def shipments(self, ids: Sequence[str]) -> dict[str, list[Shipment]]:
        return {i: list(self._shipments.get(i, ())) for i in ids}

    async def certificates(self, subjects: Sequence[str]) -> list[Certificate]:
        wanted = set(subjects)
        return sorted(
            (c for c in self._seed.certificates if c.subject in wanted), key=lambda c: c.id
        )

    async def lots_at(self, facility: str) -> list[str]:
        return sorted(self._by_facility.get(facility, ()))
