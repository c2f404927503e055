"""Writing one organisation's lots, input links, shipments, facilities and certificates
as an EPCIS 2.0 document (JSON-LD), the inverse of :mod:`oretrail.standards.epcis_import`.

- a lot with inputs: a TransformationEvent (inputs in ``inputQuantityList``, the lot in
  ``outputQuantityList``); a lot without inputs: an ObjectEvent, action ADD; either way
  at its facility (``bizLocation``, ``readPoint``), on its production date, with its
  attributes in ``ilmd``; the business step says what happened (``urn:oretrail:bizstep:
  mining``, ``smelting``, ``refining``, CBV ``collecting``, ``commissioning``);
- a shipment: an ObjectEvent, action OBSERVE, business step ``shipping``, disposition
  ``in_transit``, from the owning party to the owning party, transit points in
  ``oretrail:transit``;
- facilities (and their certificates) as BusinessLocation master data, certificates
  about the organisation as Party master data.

Event times are noon UTC of the day: the domain records dates, not times.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from oretrail.domain.model import Activity, Certificate, Facility, Lot, Quantity, Role, Shipment
from oretrail.standards.epcis_terms import (
    BIZ_STEP_MINING,
    BIZ_STEP_REFINING,
    BIZ_STEP_SMELTING,
    CBVMDA,
    CONTEXT,
    NAMESPACE,
    UOM_OF_UNIT,
    Gs1Directory,
)
from oretrail.store.seed import SeedData

__all__ = ["export_epcis"]

_EVENT_IDS = uuid.UUID("3f1c2a8e-5d0b-4c7e-9a61-0e5b8f7d2c11")


def export_epcis(seed: SeedData, directory: Gs1Directory, created: datetime) -> dict[str, Any]:
    """One organisation's records as an EPCISDocument (a JSON-ready dict)."""
    org = seed.organisation
    facilities = {f.id: f for f in seed.facilities}
    events: list[dict[str, Any]] = []
    for lot in sorted(seed.lots, key=lambda lot: (lot.produced_at, lot.id)):
        events.append(_lot_event(lot, facilities.get(lot.facility), org.roles, directory))
    for index, shipment in enumerate(seed.shipments):
        events.append(_shipment_event(shipment, index, directory))
    org_certificates = [c for c in seed.certificates if c.subject == org.id]
    vocabularies: list[dict[str, Any]] = [
        {
            "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
            "vocabularyElementList": [
                _location(f, [c for c in seed.certificates if c.subject == f.id], directory)
                for f in seed.facilities
            ],
        }
    ]
    if org_certificates:
        vocabularies.append(
            {
                "type": "urn:epcglobal:epcis:vtype:Party",
                "vocabularyElementList": [
                    {
                        "id": directory.party_uri(org.id),
                        "attributes": [_certificate(c) for c in org_certificates],
                    }
                ],
            }
        )
    return {
        "@context": [CONTEXT, {"oretrail": NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.isoformat().replace("+00:00", "Z"),
        "sender": directory.party_uri(org.id),
        "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}},
        "epcisBody": {"eventList": events},
    }


def _time(day: date) -> dict[str, str]:
    return {"eventTime": f"{day.isoformat()}T12:00:00Z", "eventTimeZoneOffset": "+00:00"}


def _quantity(lot: str, quantity: Quantity) -> dict[str, Any]:
    return {"epcClass": lot, "quantity": quantity.value, "uom": UOM_OF_UNIT[quantity.unit]}


def _event_id(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_EVENT_IDS, '|'.join(parts))}"


def _biz_step(lot: Lot, facility: Facility | None, roles: tuple[Role, ...]) -> str:
    activities = (facility.activities if facility else None) or frozenset()
    if not lot.inputs and Activity.EXTRACTION in activities:
        return BIZ_STEP_MINING
    if not lot.inputs and Activity.SCRAP_COLLECTION in activities:
        return "collecting"
    if lot.inputs and Activity.PROCESSING_REFINING in activities:
        return BIZ_STEP_SMELTING if Role.SMELTER in roles else BIZ_STEP_REFINING
    return "commissioning"


def _ilmd(lot: Lot) -> dict[str, Any]:
    ilmd: dict[str, Any] = {
        "oretrail:material": lot.material,
        "oretrail:custody": str(lot.custody),
        "oretrail:recycledPreConsumer": lot.recycled_pre_consumer,
        "oretrail:recycledPostConsumer": lot.recycled_post_consumer,
    }
    if lot.contents is not None:
        ilmd["oretrail:contents"] = dict(sorted(lot.contents.items()))
    if lot.carbon_footprint is not None:
        ilmd["oretrail:carbonFootprint"] = lot.carbon_footprint
        ilmd["oretrail:carbonFootprintUnit"] = lot.carbon_footprint_unit
    if lot.rated_capacity_kwh is not None:
        ilmd["oretrail:ratedCapacityKWh"] = lot.rated_capacity_kwh
    return ilmd


def _lot_event(
    lot: Lot, facility: Facility | None, roles: tuple[Role, ...], directory: Gs1Directory
) -> dict[str, Any]:
    place = {"id": directory.location_uri(lot.facility)}
    common = {
        **_time(lot.produced_at),
        "eventID": _event_id("lot", lot.id),
        "bizStep": _biz_step(lot, facility, roles),
        "disposition": "active",
        "readPoint": place,
        "bizLocation": place,
        "ilmd": _ilmd(lot),
    }
    if not lot.inputs:
        return {
            "type": "ObjectEvent",
            "action": "ADD",
            "quantityList": [_quantity(lot.id, lot.quantity)],
            **common,
        }
    return {
        "type": "TransformationEvent",
        "inputQuantityList": [_quantity(link.lot, link.quantity) for link in lot.inputs],
        "outputQuantityList": [_quantity(lot.id, lot.quantity)],
        **common,
    }


def _shipment_event(shipment: Shipment, index: int, directory: Gs1Directory) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        **_time(shipment.shipped_on),
        "eventID": _event_id("shipment", shipment.lot, str(index)),
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "quantityList": [_quantity(shipment.lot, shipment.quantity)],
        "sourceList": [{"type": "owning_party", "source": directory.party_uri(shipment.from_org)}],
        "destinationList": [
            {"type": "owning_party", "destination": directory.party_uri(shipment.to_org)}
        ],
    }
    if shipment.transit:
        event["oretrail:transit"] = [
            {"country": p.country, "region": p.region} for p in shipment.transit
        ]
    return event


def _attribute(term: str, value: Any) -> dict[str, Any]:
    return {"id": term, "attribute": value}


def _location(
    facility: Facility, certificates: list[Certificate], directory: Gs1Directory
) -> dict[str, Any]:
    values: Mapping[str, Any] = {
        CBVMDA + "name": facility.name,
        NAMESPACE + "facilityKind": facility.kind,
        CBVMDA + "countryCode": facility.country,
        CBVMDA + "state": facility.region,
        CBVMDA + "latitude": facility.latitude,
        CBVMDA + "longitude": facility.longitude,
        NAMESPACE + "artisanal": "true" if facility.artisanal else "false",
        NAMESPACE + "cahra": "true" if facility.cahra else "false",
        NAMESPACE + "activities": " ".join(sorted(facility.activities or ())),
    }
    attributes = [_attribute(k, v) for k, v in values.items() if v is not None]
    attributes.extend(_certificate(c) for c in certificates)
    return {"id": directory.location_uri(facility.id), "attributes": attributes}


def _certificate(certificate: Certificate) -> dict[str, Any]:
    return _attribute(
        NAMESPACE + "certificate",
        {
            "id": certificate.id,
            "issuer": certificate.issuer,
            "standard": certificate.standard,
            "scope": certificate.scope,
            "validFrom": certificate.valid_from.isoformat(),
            "validTo": certificate.valid_to.isoformat(),
            "status": certificate.status,
        },
    )
