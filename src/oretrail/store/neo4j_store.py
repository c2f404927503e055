"""Neo4jGraphStore: a participant's node store on Neo4j, and loading a seed file into it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from oretrail.domain.model import (
    Activity,
    Certificate,
    Custody,
    Facility,
    InputLink,
    Lot,
    Organisation,
    Quantity,
    Role,
    Shipment,
    TransitPoint,
)
from oretrail.errors import StoreError
from oretrail.store.cypher import CypherRunner, Transaction
from oretrail.store.port import Consumption
from oretrail.store.seed import SeedData

__all__ = ["Neo4jGraphStore", "load_seed_into_neo4j"]


def _key(org: str, item: str) -> str:
    return f"{org}|{item}"


class Neo4jGraphStore:
    """A GraphStore over one organisation's records in Neo4j."""

    def __init__(self, runner: CypherRunner, org: str) -> None:
        self._runner = runner
        self._org = org

    async def organisation(self) -> Organisation:
        rows = await self._runner.read("node/organisation", org=self._org)
        if not rows:
            raise StoreError(
                f"Neo4j holds no data for organisation {self._org!r}; "
                f"run `oretrail graph load --org {self._org}`"
            )
        o = rows[0]["organisation"]
        return Organisation(o["id"], o["name"], tuple(Role(r) for r in o["roles"]), o["country"])

    async def facilities(self) -> Sequence[Facility]:
        rows = await self._runner.read("node/facilities", org=self._org)
        return [_facility(r["facility"]) for r in rows]

    async def lots(self, ids: Sequence[str]) -> dict[str, Lot]:
        if not ids:
            return {}
        rows = await self._runner.read("node/lots", keys=[_key(self._org, i) for i in ids])
        return {r["lot"]["id"]: _lot(r["lot"], r["inputs"]) for r in rows}

    async def consumers(self, ids: Sequence[str]) -> dict[str, list[Consumption]]:
        result: dict[str, list[Consumption]] = {i: [] for i in ids}
        rows = await self._runner.read("node/consumers", keys=[_key(self._org, i) for i in ids])
        for r in rows:
            result[r["input"]].append(Consumption(r["consumer"], Quantity(r["value"], r["unit"])))
        return result

    async def shipments(self, ids: Sequence[str]) -> dict[str, list[Shipment]]:
        result: dict[str, list[Shipment]] = {i: [] for i in ids}
        for r in await self._runner.read("node/shipments", org=self._org, ids=list(ids)):
            s = r["shipment"]
            result[s["lot"]].append(
                Shipment(
                    s["lot"],
                    s["from_org"],
                    s["to_org"],
                    _date(s["date"]),
                    Quantity(s["value"], s["unit"]),
                    _transit(s),
                )
            )
        return result

    async def certificates(self, subjects: Sequence[str]) -> list[Certificate]:
        rows = await self._runner.read("node/certificates", org=self._org, subjects=list(subjects))
        return [_certificate(r["certificate"]) for r in rows]

    async def lots_at(self, facility: str) -> list[str]:
        rows = await self._runner.read("node/lots_at", org=self._org, facility=facility)
        return [r["id"] for r in rows]


async def load_seed_into_neo4j(runner: CypherRunner, seed: SeedData) -> int:
    """Replace one organisation's node store with a seed file's records, in one transaction."""
    org = seed.organisation.id
    params = _seed_parameters(seed)

    async def work(tx: Transaction) -> int:
        await tx.run("node/delete_org", org=org)
        await tx.run("node/create_org", organisation=params["organisation"])
        await tx.run("node/create_facilities", facilities=params["facilities"])
        await tx.run("node/create_lots", lots=params["lots"])
        await tx.run("node/create_links", org=org, links=params["links"])
        await tx.run("node/create_shipments", shipments=params["shipments"])
        await tx.run("node/create_certificates", certificates=params["certificates"])
        return len(seed.lots)

    return await runner.in_transaction(f"loading {org}", work)


def _seed_parameters(seed: SeedData) -> dict[str, Any]:
    org = seed.organisation.id
    o = seed.organisation
    lots: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for lot in seed.lots:
        declared = lot.contents is not None
        contents = sorted((lot.contents or {}).items())
        lots.append(
            {
                "key": _key(org, lot.id),
                "org": org,
                "id": lot.id,
                "material": lot.material,
                "quantity_value": lot.quantity.value,
                "quantity_unit": lot.quantity.unit,
                "produced_at": lot.produced_at,
                "facility": lot.facility,
                "custody": str(lot.custody),
                "contents_declared": declared,
                "content_elements": [e for e, _ in contents],
                "content_fractions": [f for _, f in contents],
                "carbon_footprint": lot.carbon_footprint,
                "carbon_footprint_unit": lot.carbon_footprint_unit,
                "rated_capacity_kwh": lot.rated_capacity_kwh,
                "recycled_pre_consumer": lot.recycled_pre_consumer,
                "recycled_post_consumer": lot.recycled_post_consumer,
                "transit_countries": [p.country for p in lot.transit],
                "transit_regions": [p.region for p in lot.transit],
            }
        )
        links.extend(
            {
                "consumer_key": _key(org, lot.id),
                "input_key": _key(org, link.lot),
                "input": link.lot,
                "value": link.quantity.value,
                "unit": link.quantity.unit,
                "position": position,
            }
            for position, link in enumerate(lot.inputs)
        )
    return {
        "organisation": {
            "org": org,
            "id": org,
            "name": o.name,
            "roles": [str(r) for r in o.roles],
            "country": o.country,
        },
        "facilities": [
            {
                "key": _key(org, f.id),
                "org": org,
                "id": f.id,
                "name": f.name,
                "kind": f.kind,
                "country": f.country,
                "region": f.region,
                "latitude": f.latitude,
                "longitude": f.longitude,
                "artisanal": f.artisanal,
                "cahra": f.cahra,
                "activities": sorted(f.activities or ()),
            }
            for f in seed.facilities
        ],
        "lots": lots,
        "links": links,
        "shipments": [
            {
                "org": org,
                "lot": s.lot,
                "from_org": s.from_org,
                "to_org": s.to_org,
                "date": s.shipped_on,
                "value": s.quantity.value,
                "unit": s.quantity.unit,
                "transit_countries": [p.country for p in s.transit],
                "transit_regions": [p.region for p in s.transit],
            }
            for s in seed.shipments
        ],
        "certificates": [
            {
                "org": org,
                "id": c.id,
                "subject": c.subject,
                "issuer": c.issuer,
                "standard": c.standard,
                "scope": c.scope,
                "valid_from": c.valid_from,
                "valid_to": c.valid_to,
                "status": c.status,
                "credential": c.credential,
            }
            for c in seed.certificates
        ],
    }


def _date(value: Any) -> date:
    """Neo4j returns its own Date type; the domain speaks datetime.date."""
    return value if type(value) is date else date.fromisoformat(value.iso_format())


def _facility(f: dict[str, Any]) -> Facility:
    return Facility(
        f["id"],
        f["org"],
        f["name"],
        f["kind"],
        f["country"],
        f["region"],
        f.get("latitude"),
        f.get("longitude"),
        f["artisanal"],
        f["cahra"],
        # Stores loaded before activities existed hold none: reload with `oretrail graph load`.
        frozenset(Activity(a) for a in f.get("activities") or ()),
    )


def _transit(raw: dict[str, Any]) -> tuple[TransitPoint, ...]:
    countries = raw.get("transit_countries") or []
    regions = raw.get("transit_regions") or []
    return tuple(TransitPoint(c, r) for c, r in zip(countries, regions, strict=True))


def _certificate(c: dict[str, Any]) -> Certificate:
    return Certificate(
        c["id"],
        c["subject"],
        c["issuer"],
        c["standard"],
        c["scope"],
        _date(c["valid_from"]),
        _date(c["valid_to"]),
        c["status"],
        c.get("credential"),
    )


def _lot(raw: dict[str, Any], inputs: list[dict[str, Any]]) -> Lot:
    contents = (
        dict(zip(raw["content_elements"], raw["content_fractions"], strict=True))
        if raw["contents_declared"]
        else None
    )
    return Lot(
        id=raw["id"],
        owner=raw["org"],
        material=raw["material"],
        quantity=Quantity(raw["quantity_value"], raw["quantity_unit"]),
        produced_at=_date(raw["produced_at"]),
        facility=raw["facility"],
        custody=Custody(raw["custody"]),
        contents=contents,
        carbon_footprint=raw.get("carbon_footprint"),
        carbon_footprint_unit=raw.get("carbon_footprint_unit"),
        rated_capacity_kwh=raw.get("rated_capacity_kwh"),
        recycled_pre_consumer=raw["recycled_pre_consumer"],
        recycled_post_consumer=raw["recycled_post_consumer"],
        inputs=tuple(InputLink(i["lot"], Quantity(i["value"], i["unit"])) for i in inputs),
        transit=_transit(raw),
    )
