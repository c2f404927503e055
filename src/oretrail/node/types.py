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


LotStatus = strawberry.enum(
    lots.LotStatus,
    description="Whether an asked lot is given: FOUND, or NOT_FOUND (not known, or withheld: "
    "one and the same answer when nothing justifies the caller), INVALID_ID (not a lot id), "
    "WITHHELD (known to the caller, refused by the owner's policy).",
)


@strawberry.type(name="Quantity", description="An amount of material with its unit.")
class QuantityType:
    value: float = strawberry.field(description="The amount (>= 0), in unit.")
    unit: str = strawberry.field(description='The mass unit: "kg" or "t" (1000 kg), exactly so.')

    @classmethod
    def of(cls, quantity: Quantity) -> QuantityType:
        return cls(value=quantity.value, unit=quantity.unit)


@strawberry.type(description="How much of one element a lot holds.")
class ElementContent:
    element: str = strawberry.field(description="IUPAC element symbol, e.g. Co.")
    fraction: float = strawberry.field(
        description="Mass fraction of the lot that is this element, from 0 to 1."
    )


@strawberry.type(name="TransitPoint", description="A place a lot's shipments passed through.")
class TransitPointType:
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    region: str = strawberry.field(description="Region within the country, as the owner names it.")

    @classmethod
    def of(cls, point: TransitPoint) -> TransitPointType:
        return cls(country=point.country, region=point.region)


@strawberry.type(
    name="Certificate", description="An auditor's statement about a facility or an organisation."
)
class CertificateType:
    id: str = strawberry.field(description="The certificate's id.")
    subject: str = strawberry.field(description="The facility or organisation it certifies.")
    issuer: str = strawberry.field(description="The auditor that issued it.")
    standard: str = strawberry.field(description="The standard audited against, e.g. RMAP.")
    scope: str = strawberry.field(description="What the audit covered.")
    valid_from: date = strawberry.field(description="First day of validity.")
    valid_to: date = strawberry.field(description="Last day of validity.")
    status: str = strawberry.field(description="ACTIVE, SUSPENDED or WITHDRAWN.")
    credential: str | None = strawberry.field(
        description="The auditor's W3C VC 2.0 audit credential for it (compact vc+jwt), "
        "when the holder has one; null for a plain record."
    )

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
            credential=c.credential,
        )


@strawberry.type(
    name="Facility",
    description="Where a lot was produced. Each field is null with a WITHHELD error "
    "(extensions.group) when the owner's policy does not give its field group.",
)
class FacilityType:
    facility: strawberry.Private[Facility]
    certified: strawberry.Private[list[Certificate]]
    granted: strawberry.Private[frozenset[str]]

    @strawberry.field(
        description="Facility id, urn:oretrail:facility:<organisation>:<local-id>. "
        "Field group facility."
    )
    def id(self) -> str | None:
        return _give(self.granted, "facility", self.facility.id)

    @strawberry.field(description="The facility's name. Field group facility.")
    def name(self) -> str | None:
        return _give(self.granted, "facility", self.facility.name)

    @strawberry.field(
        description="What the facility is, as its owner says (e.g. mine, refinery). "
        "Field group facility."
    )
    def kind(self) -> str | None:
        return _give(self.granted, "facility", self.facility.kind)

    @strawberry.field(
        description="WGS 84 latitude in degrees, from -90 to 90. Field group facility."
    )
    def latitude(self) -> float | None:
        return _give(self.granted, "facility", self.facility.latitude)

    @strawberry.field(
        description="WGS 84 longitude in degrees, from -180 to 180. Field group facility."
    )
    def longitude(self) -> float | None:
        return _give(self.granted, "facility", self.facility.longitude)

    @strawberry.field(description="ISO 3166-1 alpha-2 country code. Field group origin.")
    def country(self) -> str | None:
        return _give(self.granted, "origin", self.facility.country)

    @strawberry.field(description="Region within the country. Field group origin.")
    def region(self) -> str | None:
        return _give(self.granted, "origin", self.facility.region)

    @strawberry.field(
        description="True for an artisanal and small-scale mining (ASM) site. Field group origin."
    )
    def artisanal(self) -> bool | None:
        return _give(self.granted, "origin", self.facility.artisanal)

    @strawberry.field(
        description="True for a site in a conflict-affected or high-risk area. Field group origin."
    )
    def cahra(self) -> bool | None:
        return _give(self.granted, "origin", self.facility.cahra)

    @strawberry.field(
        description="What the facility does: EXTRACTION, SCRAP_COLLECTION, PROCESSING_REFINING "
        "and the others of the closed list. Field group origin."
    )
    def activities(self) -> list[str] | None:
        return _give(
            self.granted, "origin", [a.value for a in sorted(self.facility.activities or ())]
        )

    @strawberry.field(
        description="The certificates the owner holds for the facility. Field group certificates."
    )
    def certificates(self) -> list[CertificateType] | None:
        return _give(self.granted, "certificates", [CertificateType.of(c) for c in self.certified])


@strawberry.type(
    name="InputLink", description="A lot this lot consumed (an EPCIS transformation input)."
)
class InputLinkType:
    link_lot: strawberry.Private[str]
    link_quantity: strawberry.Private[Quantity]
    granted: strawberry.Private[frozenset[str]]

    @strawberry.field(description="The input lot's id, urn:oretrail:lot:<organisation>:<local-id>.")
    def lot(self) -> strawberry.ID:
        return strawberry.ID(self.link_lot)

    @strawberry.field(
        description="The organisation that owns the input lot. Field group suppliers."
    )
    def owner(self) -> str | None:
        return _give(self.granted, "suppliers", parse_lot_id(self.link_lot).org)

    @strawberry.field(description="How much of the input was consumed. Field group quantities.")
    def quantity(self) -> QuantityType | None:
        return _give(self.granted, "quantities", QuantityType.of(self.link_quantity))


@strawberry.type(
    name="Lot",
    description="A lot of material (ISO 22095 batch). Each field other than id and owner is "
    "null with a WITHHELD error (extensions.group) when the owner's policy does not give "
    "its field group.",
)
class LotType:
    lot: strawberry.Private[Lot]
    granted: strawberry.Private[frozenset[str]]
    place: strawberry.Private[FacilityType]

    @strawberry.field(description="Lot id, urn:oretrail:lot:<organisation>:<local-id>.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.lot.id)

    @strawberry.field(description="The organisation that owns the lot.")
    def owner(self) -> str:
        return self.lot.owner

    @strawberry.field(
        description="The lot's material, as its owner names it. Field group identity."
    )
    def material(self) -> str | None:
        return _give(self.granted, "identity", self.lot.material)

    @strawberry.field(description="The day the lot was produced. Field group identity.")
    def produced_at(self) -> date | None:
        return _give(self.granted, "identity", self.lot.produced_at)

    @strawberry.field(
        description="The lot's chain-of-custody model (ISO 22095). Field group identity."
    )
    def custody(self) -> CustodyModel | None:  # type: ignore[valid-type]
        return _give(self.granted, "identity", self.lot.custody)

    @strawberry.field(description="The lot's quantity. Field group quantities.")
    def quantity(self) -> QuantityType | None:
        return _give(self.granted, "quantities", QuantityType.of(self.lot.quantity))

    @strawberry.field(description="Where the lot was produced.")
    def facility(self) -> FacilityType:
        return self.place

    @strawberry.field(
        description="Element contents by mass; null when not declared. Field group contents."
    )
    def contents(self) -> list[ElementContent] | None:
        contents = _give(self.granted, "contents", self.lot.contents)
        if contents is None:
            return None
        return [ElementContent(element=e, fraction=f) for e, f in sorted(contents.items())]

    @strawberry.field(
        description="Pre-consumer recycled fraction of the lot's mass, from 0 to 1. "
        "Field group contents."
    )
    def recycled_pre_consumer(self) -> float | None:
        return _give(self.granted, "contents", self.lot.recycled_pre_consumer)

    @strawberry.field(
        description="Post-consumer recycled fraction of the lot's mass, from 0 to 1. "
        "Field group contents."
    )
    def recycled_post_consumer(self) -> float | None:
        return _give(self.granted, "contents", self.lot.recycled_post_consumer)

    @strawberry.field(description="Places the lot's shipments passed through. Field group origin.")
    def transit(self) -> list[TransitPointType] | None:
        return _give(self.granted, "origin", [TransitPointType.of(p) for p in self.lot.transit])

    @strawberry.field(
        description="The carbon footprint its owner declares (>= 0), in the unit "
        "carbonFootprintUnit names. Field group emissions."
    )
    def carbon_footprint(self) -> float | None:
        return _give(self.granted, "emissions", self.lot.carbon_footprint)

    @strawberry.field(
        description="The unit of carbonFootprint: kgCO2e/kg (per kg of the lot) or "
        "kgCO2e/kWh (per kWh of rated capacity). Field group emissions."
    )
    def carbon_footprint_unit(self) -> str | None:
        return _give(self.granted, "emissions", self.lot.carbon_footprint_unit)

    @strawberry.field(
        description="A battery lot's rated capacity in kWh (>= 0), the whole lot's. "
        "Field group identity."
    )
    def rated_capacity_kwh(self) -> float | None:
        return _give(self.granted, "identity", self.lot.rated_capacity_kwh)

    @strawberry.field(description="The lots this lot consumed. Field group inputs.")
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


@strawberry.type(description="One asked-for id: the lot, or a typed reason it is not given.")
class LotAnswer:
    """One asked-for id: the lot, or a typed reason it is not given."""

    id: strawberry.ID = strawberry.field(description="The id asked for.")
    status: LotStatus = strawberry.field(  # type: ignore[valid-type]
        description="Whether the lot is given."
    )
    detail: str | None = strawberry.field(default=None, description="Why not, for people.")
    lot: LotType | None = strawberry.field(default=None, description="The lot when FOUND.")

    @classmethod
    def of(cls, given: lots.Given) -> LotAnswer:
        lot = None
        if given.lot is not None and given.facility is not None:
            lot = lot_type(given.lot, given.facility, given.certificates, given.granted)
        return cls(id=strawberry.ID(given.id), status=given.status, detail=given.detail, lot=lot)


@strawberry.type(
    name="ContinuationGrant",
    description="A continuation grant this node signed: forward it to owner to ask for lots.",
)
class ContinuationType:
    """A continuation grant this node signed: forward it to ``owner`` to ask for ``lots``."""

    owner: str = strawberry.field(description="The organisation whose node honours the grant.")
    lots: list[strawberry.ID] = strawberry.field(description="The input lots it opens.")
    grant: str = strawberry.field(description="The signed grant, a compact JWS (DESIGN Trust 4).")


@strawberry.type(
    description="The answers in the order of the ids asked, and the grants for the inputs revealed."
)
class LotsResult:
    """The answers in the order of the ids asked, and the grants for the inputs revealed."""

    answers: list[LotAnswer] = strawberry.field(
        description="One answer per id asked, in the order asked."
    )
    continuations: list[ContinuationType] = strawberry.field(
        description="Grants for the input lots revealed, one per input owner."
    )


@strawberry.type(name="Consumer", description="One of our lots that consumed the lot asked.")
class ConsumerType:
    lot: strawberry.ID = strawberry.field(description="The consuming lot.")
    quantity: QuantityType = strawberry.field(description="How much it consumed.")


@strawberry.type(name="Shipment", description="A shipment of the lot to a customer.")
class ShipmentType:
    to: str = strawberry.field(description="The receiving organisation's id.")
    date: date = strawberry.field(description="The day it was shipped.")
    quantity: QuantityType = strawberry.field(description="How much was shipped.")


@strawberry.type(
    description="Where one lot went: our lots that consumed it, and whom we shipped it to."
)
class OutputsAnswer:
    """Where one lot went: our lots that consumed it, and whom we shipped it to."""

    id: strawberry.ID = strawberry.field(description="The lot asked.")
    consumers: list[ConsumerType] = strawberry.field(description="Our lots that consumed it.")
    shipped_to: list[ShipmentType] = strawberry.field(
        description="Its shipments to customers (field group customers; empty when not given)."
    )


@strawberry.type(name="Organisation", description="The organisation this node serves.")
class OrganisationType:
    id: str = strawberry.field(description="Organisation id (a slug), e.g. kasulo-coop.")
    name: str = strawberry.field(description="The organisation's name.")
    roles: list[str] = strawberry.field(description="Its roles: MINE, REFINER, OEM...")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
