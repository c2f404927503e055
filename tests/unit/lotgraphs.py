"""Small hand-made lot graphs for the domain's unit tests."""

from __future__ import annotations

from oretrail.domain.lotgraph import TracedInput, TracedLot
from oretrail.domain.model import Custody, Facility


def lid(org: str, local: str) -> str:
    return f"urn:oretrail:lot:{org}:{local}"


def lot(
    lot_id: str,
    *,
    contents: dict[str, float] | None,
    inputs: tuple[tuple[str, float], ...] = (),
    custody: Custody | None = Custody.SEGREGATED,
    quantity_kg: float | None = 1000.0,
    facility: Facility | None = None,
    material: str = "material",
) -> TracedLot:
    """A traced lot; ``inputs`` are (lot id, kg consumed) pairs."""
    owner = lot_id.split(":")[3]
    return TracedLot(
        id=lot_id,
        owner=owner,
        material=material,
        quantity_kg=quantity_kg,
        contents=contents,
        custody=custody,
        facility=facility,
        inputs=tuple(TracedInput(i, i.split(":")[3], kg) for i, kg in inputs),
    )
