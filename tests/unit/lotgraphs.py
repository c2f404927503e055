"""Small hand-made lot graphs for the domain's unit tests."""

from __future__ import annotations

from collections.abc import Iterable

from oretrail.domain.lotgraph import TracedInput, TracedLot
from oretrail.domain.model import Activity, Custody, Facility

EXTRACTION = frozenset({Activity.EXTRACTION})
MANUFACTURING = frozenset({Activity.MANUFACTURING})
PROCESSING = frozenset({Activity.PROCESSING_REFINING})


def lid(org: str, local: str) -> str:
    return f"urn:oretrail:lot:{org}:{local}"


def site(
    org: str,
    activities: Iterable[Activity] | None,
    *,
    country: str = "XX",
    region: str = "Region",
    artisanal: bool = False,
    cahra: bool = False,
) -> Facility:
    """A facility of ``org`` doing ``activities`` (None: not shown to the caller)."""
    return Facility(
        f"urn:oretrail:facility:{org}:site",
        org,
        f"{org} site",
        "site",
        country,
        region,
        artisanal=artisanal,
        cahra=cahra,
        activities=None if activities is None else frozenset(activities),
    )


def lot(
    lot_id: str,
    *,
    contents: dict[str, float] | None,
    inputs: tuple[tuple[str, float | None], ...] = (),
    custody: Custody | None = Custody.SEGREGATED,
    quantity_kg: float | None = 1000.0,
    facility: Facility | None = None,
    material: str = "material",
) -> TracedLot:
    """A traced lot; ``inputs`` are (lot id, kg consumed) pairs.

    Without a facility, a lot without inputs is made at an extraction site and any
    other at a manufacturing plant.
    """
    owner = lot_id.split(":")[3]
    if facility is None:
        facility = site(owner, MANUFACTURING if inputs else EXTRACTION)
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
