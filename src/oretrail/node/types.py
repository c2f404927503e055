"""GraphQL types a node serves: lots with their facility, certificates and input links."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from oretrail.domain.model import Certificate, Facility, Lot, Quantity, parse_lot_id
from oretrail.graphql_types import CustodyModel

__all__ = [
    "CertificateType",
    "ConsumerType",
    "FacilityType",
    "LotAnswer",
    "LotStatus",
    "LotType",
    "OrganisationType",
    "OutputsAnswer",
    "ShipmentType",
    "lot_type",
]


@strawberry.enum
class LotStatus(Enum):
    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    INVALID_ID = "INVALID_ID"
    WITHHELD = "WITHHELD"


@strawberry.type
class QuantityType:
    value: float
    unit: str

    @classmethod
    def of(cls, quantity: Quantity) -> QuantityType:
        return cls(value=quantity.value, unit=quantity.unit)


@strawberry.type
class ElementContent:
    element: str
    fraction: float


@strawberry.type
class CertificateType:
    id: str
    subject: str
    issuer: str
    standard: str
    scope: str
    valid_from: date
    valid_to: date
    status: str

    @classmethod
    def of(cls, c: Certificate) -> CertificateType:
        return cls(
            id=c.id,
            subject=c.subject,
            issuer=c.issuer,
            standard=c.standard,
            scope=c.scope,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            status=c.status,
        )


@strawberry.type
class FacilityType:
    id: str
    name: str
    kind: str
    country: str
    region: str
    latitude: float | None
    longitude: float | None
    artisanal: bool
    cahra: bool
    certificates: list[CertificateType]

    @classmethod
    def of(cls, f: Facility, certificates: list[Certificate]) -> FacilityType:
        return cls(
            id=f.id,
            name=f.name,
            kind=f.kind,
            country=f.country,
            region=f.region,
            latitude=f.latitude,
            longitude=f.longitude,
            artisanal=f.artisanal,
            cahra=f.cahra,
            certificates=[CertificateType.of(c) for c in certificates],
        )


@strawberry.type
class InputLinkType:
    lot: strawberry.ID
    owner: str
    quantity: QuantityType
    # The continuation grant for the input lot; tokens are added by the permissions work.
    grant: str | None = None


@strawberry.type
class LotType:
    id: strawberry.ID
    owner: str
    material: str
    quantity: QuantityType
    produced_at: date
    facility: FacilityType
    custody: CustodyModel  # type: ignore[valid-type]
    contents: list[ElementContent] | None
    carbon_footprint: float | None
    recycled_pre_consumer: float
    recycled_post_consumer: float
    inputs: list[InputLinkType]


def lot_type(lot: Lot, facility: FacilityType) -> LotType:
    """The GraphQL view of a domain lot, its facility already resolved."""
    contents = (
        None
        if lot.contents is None
        else [ElementContent(element=e, fraction=f) for e, f in sorted(lot.contents.items())]
    )
    return LotType(
        id=strawberry.ID(lot.id),
        owner=lot.owner,
        material=lot.material,
        quantity=QuantityType.of(lot.quantity),
        produced_at=lot.produced_at,
        facility=facility,
        custody=lot.custody,
        contents=contents,
        carbon_footprint=lot.carbon_footprint,
        recycled_pre_consumer=lot.recycled_pre_consumer,
        recycled_post_consumer=lot.recycled_post_consumer,
        inputs=[
            InputLinkType(
                lot=strawberry.ID(link.lot),
                owner=parse_lot_id(link.lot).org,
                quantity=QuantityType.of(link.quantity),
            )
            for link in lot.inputs
        ],
    )


@strawberry.type
class LotAnswer:
    """One asked-for id: the lot, or a typed reason it is not given."""

    id: strawberry.ID
    status: LotStatus
    detail: str | None = None
    lot: LotType | None = None


@strawberry.type
class ConsumerType:
    lot: strawberry.ID
    quantity: QuantityType


@strawberry.type
class ShipmentType:
    to: str
    date: date
    quantity: QuantityType


@strawberry.type
class OutputsAnswer:
    """Where one lot went: our lots that consumed it, and whom we shipped it to."""

    id: strawberry.ID
    consumers: list[ConsumerType]
    shipped_to: list[ShipmentType]


@strawberry.type
class OrganisationType:
    id: str
    name: str
    roles: list[str]
    country: str
    facilities: list[FacilityType]
