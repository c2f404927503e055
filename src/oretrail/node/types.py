"""GraphQL types a node serves. Every lot field belongs to a field group of the policy.

A field whose group the caller is not granted resolves to null with an error whose
``extensions`` are ``{"code": "WITHHELD", "group": <group>}``, so the gateway can
tell "withheld" from "absent".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from oretrail.domain.model import (
    Certificate,
    Facility,
    Lot,
    Quantity,
    TransitPoint,
    parse_lot_id,
)
from oretrail.graphql_types import CustodyModel
from oretrail.node import lots

__all__ = [
    "CertificateType",
    "ConsumerType",
    "ContinuationType",
    "FacilityType",
    "LotAnswer",
    "LotStatus",
    "LotType",
    "LotsResult",
    "OrganisationType",
    "OutputsAnswer",
    "ShipmentType",
]

_T = TypeVar("_T")


def withheld(group: str) -> GraphQLError:
    return GraphQLError(
        f"withheld by the owner's policy (field group {group})",
        extensions={"code": "WITHHELD", "group": group},
    )


def _give(granted: frozenset[str], group: str, value: _T) -> _T:
    if group not in granted:
        raise withheld(group)
    return value


LotStatus = strawberry.enum(lots.LotStatus, description="Whether an asked lot is given.")


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
class TransitPointType:
    country: str
    region: str

    @classmethod
    def of(cls, point: TransitPoint) -> TransitPointType:
        return cls(country=point.country, region=point.region)


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
    facility: strawberry.Private[Facility]
    certified: strawberry.Private[list[Certificate]]
    granted: strawberry.Private[frozenset[str]]

    @strawberry.field
    def id(self) -> str | None:
        return _give(self.granted, "facility", self.facility.id)

    @strawberry.field
    def name(self) -> str | None:
        return _give(self.granted, "facility", self.facility.name)

    @strawberry.field
    def kind(self) -> str | None:
        return _give(self.granted, "facility", self.facility.kind)

    @strawberry.field
    def latitude(self) -> float | None:
        return _give(self.granted, "facility", self.facility.latitude)

    @strawberry.field
    def longitude(self) -> float | None:
        return _give(self.granted, "facility", self.facility.longitude)

    @strawberry.field
    def country(self) -> str | None:
        return _give(self.granted, "origin", self.facility.country)

    @strawberry.field
    def region(self) -> str | None:
        return _give(self.granted, "origin", self.facility.region)

    @strawberry.field
    def artisanal(self) -> bool | None:
        return _give(self.granted, "origin", self.facility.artisanal)

    @strawberry.field
    def cahra(self) -> bool | None:
        return _give(self.granted, "origin", self.facility.cahra)

    @strawberry.field
    def activities(self) -> list[str] | None:
        return _give(
            self.granted, "origin", [a.value for a in sorted(self.facility.activities or ())]
        )

    @strawberry.field
    def certificates(self) -> list[CertificateType] | None:
        return _give(self.granted, "certificates", [CertificateType.of(c) for c in self.certified])


@strawberry.type
class InputLinkType:
    link_lot: strawberry.Private[str]
    link_quantity: strawberry.Private[Quantity]
    granted: strawberry.Private[frozenset[str]]

    @strawberry.field
    def lot(self) -> strawberry.ID:
        return strawberry.ID(self.link_lot)

    @strawberry.field
    def owner(self) -> str | None:
        return _give(self.granted, "suppliers", parse_lot_id(self.link_lot).org)

    @strawberry.field
    def quantity(self) -> QuantityType | None:
        return _give(self.granted, "quantities", QuantityType.of(self.link_quantity))


@strawberry.type
class LotType:
    lot: strawberry.Private[Lot]
    granted: strawberry.Private[frozenset[str]]
    place: strawberry.Private[FacilityType]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.lot.id)

    @strawberry.field
    def owner(self) -> str:
        return self.lot.owner

    @strawberry.field
    def material(self) -> str | None:
        return _give(self.granted, "identity", self.lot.material)

    @strawberry.field
    def produced_at(self) -> date | None:
        return _give(self.granted, "identity", self.lot.produced_at)

    @strawberry.field
    def custody(self) -> CustodyModel | None:  # type: ignore[valid-type]
        return _give(self.granted, "identity", self.lot.custody)

    @strawberry.field
    def quantity(self) -> QuantityType | None:
        return _give(self.granted, "quantities", QuantityType.of(self.lot.quantity))

    @strawberry.field
    def facility(self) -> FacilityType:
        return self.place

    @strawberry.field
    def contents(self) -> list[ElementContent] | None:
        contents = _give(self.granted, "contents", self.lot.contents)
        if contents is None:
            return None
        return [ElementContent(element=e, fraction=f) for e, f in sorted(contents.items())]

    @strawberry.field
    def recycled_pre_consumer(self) -> float | None:
        return _give(self.granted, "contents", self.lot.recycled_pre_consumer)

    @strawberry.field
    def recycled_post_consumer(self) -> float | None:
        return _give(self.granted, "contents", self.lot.recycled_post_consumer)

    @strawberry.field
    def transit(self) -> list[TransitPointType] | None:
        return _give(self.granted, "origin", [TransitPointType.of(p) for p in self.lot.transit])

    @strawberry.field
    def carbon_footprint(self) -> float | None:
        return _give(self.granted, "emissions", self.lot.carbon_footprint)

    @strawberry.field
    def carbon_footprint_unit(self) -> str | None:
        return _give(self.granted, "emissions", self.lot.carbon_footprint_unit)

    @strawberry.field
    def rated_capacity_kwh(self) -> float | None:
        return _give(self.granted, "identity", self.lot.rated_capacity_kwh)

    @strawberry.field
    def inputs(self) -> list[InputLinkType] | None:
        links = _give(self.granted, "inputs", self.lot.inputs)
        return [
            InputLinkType(
                link_lot=link.lot,
                link_quantity=link.quantity,
                granted=self.granted,
            )
            for link in links
        ]


def lot_type(
    lot: Lot, facility: Facility, certificates: Sequence[Certificate], granted: frozenset[str]
) -> LotType:
    place = FacilityType(facility=facility, certified=list(certificates), granted=granted)
    return LotType(lot=lot, granted=granted, place=place)


@strawberry.type
class LotAnswer:
    """One asked-for id: the lot, or a typed reason it is not given."""

    id: strawberry.ID
    status: LotStatus  # type: ignore[valid-type]
    detail: str | None = None
    lot: LotType | None = None

    @classmethod
    def of(cls, given: lots.Given) -> LotAnswer:
        lot = None
        if given.lot is not None and given.facility is not None:
            lot = lot_type(given.lot, given.facility, given.certificates, given.granted)
        return cls(id=strawberry.ID(given.id), status=given.status, detail=given.detail, lot=lot)


@strawberry.type
class ContinuationType:
    """A continuation grant this node signed: forward it to ``owner`` to ask for ``lots``."""

    owner: str
    lots: list[strawberry.ID]
    grant: str


@strawberry.type
class LotsResult:
    """The answers in the order of the ids asked, and the grants for the inputs revealed."""

    answers: list[LotAnswer]
    continuations: list[ContinuationType]


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
