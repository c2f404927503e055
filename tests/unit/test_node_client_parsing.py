"""Parsing a node's lots answer: lots of one answer share parsed facilities safely."""

from __future__ import annotations

from typing import Any

from oretrail.gateway.node_client import parse_lots

L = "urn:oretrail:lot:refiner:"


def facility(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "site",
        "name": "Site",
        "kind": "refinery",
        "country": "FI",
        "region": "Ostrobothnia",
        "latitude": 63.8,
        "longitude": 23.1,
        "artisanal": False,
        "cahra": False,
        "certificates": [],
    }
    base.update(fields)
    return base


CERTIFICATE = {
    "id": "RMAP-1",
    "subject": "site",
    "issuer": "auditor",
    "standard": "RMAP",
    "scope": "refiner",
    "validFrom": "2025-01-01",
    "validTo": "2027-12-31",
    "status": "ACTIVE",
}


def answer(*facilities: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    ids = [f"{L}R-{i}" for i in range(len(facilities))]
    lots = [
        {
            "id": lot_id,
            "status": "FOUND",
            "detail": None,
            "lot": {"id": lot_id, "owner": "refiner", "facility": place, "inputs": []},
        }
        for lot_id, place in zip(ids, facilities, strict=True)
    ]
    return ids, {"data": {"lots": {"answers": lots, "continuations": []}}}


def test_each_lot_keeps_its_own_facility_even_when_the_values_are_swapped() -> None:
    ids, document = answer(
        facility(id="a", name="b"),
        facility(id="b", name="a"),
        facility(id="a", name="b"),
    )
    replies = parse_lots("refiner", ids, document)
    places = [replies[i].lot.facility for i in ids]  # type: ignore[union-attr]
    assert [(p.id, p.name) for p in places if p] == [("a", "b"), ("b", "a"), ("a", "b")]


def test_lots_of_one_facility_with_different_certificates_keep_their_own() -> None:
    revoked = {**CERTIFICATE, "status": "REVOKED"}
    ids, document = answer(
        facility(certificates=[CERTIFICATE]),
        facility(certificates=[revoked]),
        facility(certificates=[]),
    )
    replies = parse_lots("refiner", ids, document)
    statuses = [[c.status for c in replies[i].lot.certificates] for i in ids]  # type: ignore[union-attr]
    assert statuses == [["ACTIVE"], ["REVOKED"], []]


def test_a_facility_with_unhashable_values_is_still_parsed_field_by_field() -> None:
    ids, document = answer(facility(name=["not", "a", "name"], region={"odd": 1}))
    place = parse_lots("refiner", ids, document)[ids[0]].lot.facility  # type: ignore[union-attr]
    assert place is not None
    assert (place.id, place.name, place.region) == ("site", "(withheld)", "")
