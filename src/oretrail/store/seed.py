"""Seed files: one TOML file per organisation, holding only that organisation's data.

Loading validates every rule a careful participant would expect checked, and
reports every problem at once, each naming the file, the record and the field, in
one :class:`SeedError`, so a data steward can fix a file in one pass without reading
code. Quantities are masses in a unit of the closed list (``MASS_UNITS``: kg, t),
spelled exactly; element contents are keyed by element symbols of the periodic
table. Checks across a directory of files are in :mod:`oretrail.store.seed_check`.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from oretrail.domain.model import (
    CARBON_FOOTPRINT_UNITS,
    ORG_SLUG,
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
    is_element_symbol,
    is_mass_unit,
    is_number,
    parse_lot_id,
    unknown_element_problem,
    unknown_unit_problem,
)
from oretrail.errors import InvalidLotId, SeedError

__all__ = [
    "SeedData",
    "check_links_against",
    "facility_id",
    "link_problems",
    "load_seed",
    "load_seed_dir",
    "read_seed_dir",
]

FACILITY_PREFIX = "urn:oretrail:facility:"
_E = TypeVar("_E", Role, Custody, Activity)

# A facility whose file leaves out ``activities`` does what its organisation's roles
# say (documented in docs/decisions.md); a file that lists them is taken at its word.
ROLE_ACTIVITIES = {
    Role.MINE: (Activity.EXTRACTION,),
    Role.TRADER: (Activity.TRADING_STORAGE,),
    Role.SMELTER: (Activity.PROCESSING_REFINING,),
    Role.REFINER: (Activity.PROCESSING_REFINING,),
    Role.PRECURSOR: (Activity.MANUFACTURING,),
    Role.CATHODE: (Activity.MANUFACTURING,),
    Role.ANODE: (Activity.MANUFACTURING,),
    Role.CELL: (Activity.MANUFACTURING,),
    Role.PACK: (Activity.MANUFACTURING,),
    Role.OEM: (Activity.MANUFACTURING,),
    Role.RECYCLER: (Activity.SCRAP_COLLECTION, Activity.PROCESSING_REFINING),
}
_R = TypeVar("_R")


def facility_id(org: str, local: str) -> str:
    return f"{FACILITY_PREFIX}{org}:{local}"


@dataclass(frozen=True, slots=True)
class SeedData:
    """Everything one organisation's node serves."""

    source: Path
    organisation: Organisation
    facilities: tuple[Facility, ...]
    lots: tuple[Lot, ...]
    shipments: tuple[Shipment, ...]
    certificates: tuple[Certificate, ...]


def load_seed_dir(directory: Path) -> dict[str, SeedData]:
    """Every ``*.toml`` seed file in a directory, by organisation id.

    Raises SeedError listing every problem of every file.
    """
    seeds, problems, _ = read_seed_dir(directory)
    if problems:
        raise SeedError(*problems)
    return seeds


def read_seed_dir(directory: Path) -> tuple[dict[str, SeedData], list[str], int]:
    """The seed files of a directory that load, by organisation id; every problem of
    those that do not; and how many files there are."""
    if not directory.is_dir():
        return {}, [f"{directory}: seed directory does not exist"], 0
    seeds: dict[str, SeedData] = {}
    problems: list[str] = []
    paths = sorted(directory.glob("*.toml"))
    for path in paths:
        try:
            seed = load_seed(path)
        except SeedError as exc:
            problems.extend(exc.problems)
            continue
        org = seed.organisation.id
        if org in seeds:
            problems.append(f"{path}: organisation {org!r} is also defined in {seeds[org].source}")
            continue
        seeds[org] = seed
    return seeds, problems, len(paths)


def link_problems(seeds: Iterable[SeedData], known_orgs: Iterable[str]) -> list[str]:
    """Every input link or shipment that names an organisation not in ``known_orgs``."""
    known = set(known_orgs)
    problems: list[str] = []
    for seed in seeds:
        for lot in seed.lots:
            for link in lot.inputs:
                owner = parse_lot_id(link.lot).org
                if owner not in known:
                    problems.append(
                        f"{seed.source}: lot {lot.id} has an input link to {link.lot}, "
                        f"but organisation {owner!r} is not in the registry"
                    )
        for shipment in seed.shipments:
            if shipment.to_org not in known:
                problems.append(
                    f"{seed.source}: shipment of {shipment.lot} goes to organisation "
                    f"{shipment.to_org!r}, which is not in the registry"
                )
    return problems


def check_links_against(seeds: Iterable[SeedData], known_orgs: Iterable[str]) -> None:
    """Raise SeedError listing every input link or shipment that names an organisation
    not in ``known_orgs``."""
    problems = link_problems(seeds, known_orgs)
    if problems:
        raise SeedError(*problems)


def load_seed(path: Path) -> SeedData:
    """Read and validate one organisation's seed file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SeedError(f"{path}: seed file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot read seed file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path}: not valid TOML: {exc}") from exc
    return _Reader(path).read(raw)


class _Skipped(Exception):
    """A record whose problems are noted already: it is not built."""


class _Reader:
    """Turns a parsed seed file into domain records, noting every broken rule.

    A record with a problem is noted and left out, and reading goes on with the next,
    so one run reports every problem of the file; records refer to the ids a file
    declares, so a broken record does not make the records naming it look broken too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def fail(self, where: str, problem: str) -> SeedError:
        return SeedError(f"{self.path}: {where}: {problem}")

    def note(self, read: Callable[[], _R]) -> _R | None:
        """``read()``, or None with its problems noted."""
        try:
            return read()
        except SeedError as exc:
            self.problems.extend(exc.problems)
        except _Skipped:
            pass
        return None

    def records(self, raw: Mapping[str, Any], key: str, read: Callable[[Any, int], _R]) -> list[_R]:
        """Every record of the array of tables ``key`` that reads without a problem."""
        items = self.note(lambda: _list(raw, key, self, "file")) or []
        records = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                self.problems.append(str(self.fail(f"{key}[{index}]", "must be a table")))
                continue
            record = self.note(functools.partial(read, item, index))
            if record is not None:
                records.append(record)
        return records

    def read(self, raw: Mapping[str, Any]) -> SeedData:
        org = self.note(lambda: self.organisation(_table(raw, "organisation", self, "file")))
        if org is None:  # without the organisation's id no record can be named
            raise SeedError(*self.problems)
        facilities = self.records(raw, "facilities", lambda r, i: self.facility(org, r, i))
        self.unique((f.id for f in facilities), "facility")
        declared = _declared(raw, "facilities")
        facility_ids = {facility_id(org.id, f) for f in declared} | {f.id for f in facilities}
        own = {f"urn:oretrail:lot:{org.id}:{local}" for local in _declared(raw, "lots")}
        lots = self.records(raw, "lots", lambda r, i: self.lot(org.id, facility_ids, own, r, i))
        self.unique((lot.id for lot in lots), "lot")
        shipments = self.records(raw, "shipments", lambda r, i: self.shipment(org.id, own, r, i))
        lots = _with_transit(lots, shipments)
        subjects = facility_ids | {org.id}
        certificates = self.records(
            raw, "certificates", lambda r, i: self.certificate(org.id, subjects, r, i)
        )
        if self.problems:
            raise SeedError(*self.problems)
        return SeedData(
            self.path, org, tuple(facilities), tuple(lots), tuple(shipments), tuple(certificates)
        )

    def unique(self, ids: Iterable[str], what: str) -> None:
        seen: set[str] = set()
        for item in ids:
            if item in seen:
                self.problems.append(str(self.fail(what, f"id {item} is defined twice")))
            seen.add(item)

    def organisation(self, raw: Mapping[str, Any]) -> Organisation:
        where = "[organisation]"
        org_id = _text(raw, "id", self, where)
        if not ORG_SLUG.fullmatch(org_id):
            raise self.fail(where, f"id {org_id!r} is not a slug (a-z, 0-9 and '-')")
        roles = raw.get("roles")
        if not isinstance(roles, list) or not roles:
            raise self.fail(where, "roles must be a non-empty list")
        return Organisation(
            id=org_id,
            name=_text(raw, "name", self, where),
            roles=tuple(_enum(Role, r, self, where, "role") for r in roles),
            country=_country(raw, self, where),
        )

    def facility(self, organisation: Organisation, raw: Mapping[str, Any], index: int) -> Facility:
        where = f"facilities[{index}]"
        org = organisation.id
        local = _text(raw, "id", self, where)
        lat, lon = raw.get("latitude"), raw.get("longitude")
        if lat is not None and not (is_number(lat) and -90 <= lat <= 90):
            raise self.fail(where, f"latitude {lat!r} is not between -90 and 90")
        if lon is not None and not (is_number(lon) and -180 <= lon <= 180):
            raise self.fail(where, f"longitude {lon!r} is not between -180 and 180")
        return Facility(
            id=facility_id(org, local),
            org=org,
            name=_text(raw, "name", self, where),
            kind=_text(raw, "kind", self, where),
            country=_country(raw, self, where),
            region=_text(raw, "region", self, where),
            latitude=None if lat is None else float(lat),
            longitude=None if lon is None else float(lon),
            artisanal=_flag(raw, "artisanal", self, where),
            cahra=_flag(raw, "cahra", self, where),
            activities=self.activities(raw, organisation, where),
        )

    def activities(
        self, raw: Mapping[str, Any], organisation: Organisation, where: str
    ) -> frozenset[Activity]:
        """The facility's activities from the closed list; from its organisation's roles
        when the file leaves them out."""
        if "activities" not in raw:
            return frozenset(a for r in organisation.roles for a in ROLE_ACTIVITIES.get(r, ()))
        listed = raw["activities"]
        if not isinstance(listed, list):
            raise self.fail(where, "activities must be a list")
        return frozenset(_enum(Activity, a, self, where, "activity") for a in listed)

    def lot(
        self, org: str, facilities: set[str], own: set[str], raw: Mapping[str, Any], index: int
    ) -> Lot:
        local = _text(raw, "id", self, f"lots[{index}]")
        lot_id = f"urn:oretrail:lot:{org}:{local}"
        where = f"lot {local}"
        try:
            parse_lot_id(lot_id)
        except InvalidLotId as exc:
            raise self.fail(where, str(exc)) from None
        # Each field is checked on its own, so that one run names all of a lot's problems.
        readers: dict[str, Callable[[], object]] = {
            "material": lambda: _text(raw, "material", self, where),
            "quantity": lambda: _quantity(raw.get("quantity"), self, where, "quantity"),
            "produced_at": lambda: _date(raw, "produced_at", self, where),
            "facility": lambda: self.lot_facility(org, raw, facilities, where),
            "custody": lambda: _enum(Custody, raw.get("custody"), self, where, "custody"),
            "contents": lambda: self.contents(raw.get("contents"), where),
            "carbon": lambda: self.carbon(raw, where),
            "rated_capacity_kwh": lambda: self.capacity(raw, where),
            "recycled": lambda: self.recycled(raw, where),
            "inputs": lambda: self.input_links(lot_id, own, raw, where),
        }
        before = len(self.problems)
        fields: dict[str, Any] = {name: self.note(read) for name, read in readers.items()}
        if len(self.problems) > before:
            raise _Skipped
        pre, post = fields.pop("recycled")
        fields["carbon_footprint"], fields["carbon_footprint_unit"] = fields.pop("carbon")
        fields["inputs"] = tuple(fields["inputs"])
        return Lot(
            id=lot_id, owner=org, recycled_pre_consumer=pre, recycled_post_consumer=post, **fields
        )

    def lot_facility(
        self, org: str, raw: Mapping[str, Any], facilities: set[str], where: str
    ) -> str:
        facility = facility_id(org, _text(raw, "facility", self, where))
        if facility not in facilities:
            raise self.fail(where, f"facility {raw['facility']!r} is not defined in this file")
        return facility

    def carbon(self, raw: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
        """The footprint and its unit: a figure is refused without a unit of the closed
        list, never guessed at (per kg and per kWh differ by two orders of magnitude)."""
        carbon, unit = raw.get("carbon_footprint"), raw.get("carbon_footprint_unit")
        if carbon is None:
            if unit is not None:
                raise self.fail(where, "carbon_footprint_unit is given without carbon_footprint")
            return None, None
        if not (is_number(carbon) and carbon >= 0):
            raise self.fail(where, f"carbon_footprint {carbon!r} must be a number >= 0")
        if type(unit) is not str or unit not in CARBON_FOOTPRINT_UNITS:
            allowed = ", ".join(repr(u) for u in sorted(CARBON_FOOTPRINT_UNITS))
            raise self.fail(
                where, f"carbon_footprint_unit {unit!r} is not one of {allowed} (spelled exactly)"
            )
        if unit == "kgCO2e/kWh" and raw.get("rated_capacity_kwh") is None:
            raise self.fail(where, "a footprint per kWh needs the lot's rated_capacity_kwh")
        return float(carbon), unit

    def capacity(self, raw: Mapping[str, Any], where: str) -> float | None:
        capacity = raw.get("rated_capacity_kwh")
        if capacity is not None and not (is_number(capacity) and capacity > 0):
            raise self.fail(where, f"rated_capacity_kwh {capacity!r} must be a number > 0")
        return None if capacity is None else float(capacity)

    def recycled(self, raw: Mapping[str, Any], where: str) -> tuple[float, float]:
        recycled = raw.get("recycled", {})
        if not isinstance(recycled, dict):
            raise self.fail(where, "recycled must be a table")
        pre = _fraction(recycled, "pre_consumer", self, where, default=0.0)
        post = _fraction(recycled, "post_consumer", self, where, default=0.0)
        if pre + post > 1 + 1e-9:
            raise self.fail(where, "recycled pre- and post-consumer shares add up to more than 1")
        return pre, post

    def contents(self, raw: object, where: str) -> dict[str, float] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.fail(where, "contents must be a table of element = mass fraction")
        contents: dict[str, float] = {}
        problems: list[str] = []
        for element in raw:
            try:
                if not is_element_symbol(element):
                    raise self.fail(f"{where} contents", unknown_element_problem(element))
                contents[element] = _fraction(raw, element, self, f"{where} contents")
            except SeedError as exc:
                problems.extend(exc.problems)
        if problems:
            raise SeedError(*problems)
        if sum(contents.values()) > 1 + 1e-9:
            raise self.fail(where, "contents add up to more than 1 (they are mass fractions)")
        return contents

    def input_links(
        self, consumer: str, own: set[str], raw: Mapping[str, Any], where: str
    ) -> tuple[InputLink, ...]:
        """Every input link of a lot; raises SeedError listing all the broken ones."""
        before = len(self.problems)
        links = [
            self.note(functools.partial(self.input_link, consumer, own, item, i, where))
            for i, item in enumerate(_list(raw, "inputs", self, where))
        ]
        if len(self.problems) > before:
            problems = self.problems[before:]
            del self.problems[before:]
            raise SeedError(*problems)
        return tuple(link for link in links if link is not None)

    def input_link(
        self, consumer: str, own: set[str], raw: object, index: int, where: str
    ) -> InputLink:
        here = f"{where} inputs[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(here, "must be a table with lot and quantity")
        lot = _text(raw, "lot", self, here)
        try:
            ref = parse_lot_id(lot)
        except InvalidLotId as exc:
            raise self.fail(here, str(exc)) from None
        if lot == consumer:
            raise self.fail(here, f"lot {consumer} lists itself as an input")
        if ref.org == parse_lot_id(consumer).org and lot not in own:
            raise self.fail(here, f"input {lot} is ours but no lot of this file (a dangling link)")
        return InputLink(lot=lot, quantity=_quantity(raw.get("quantity"), self, here, "quantity"))

    def shipment(self, org: str, own: set[str], raw: Mapping[str, Any], index: int) -> Shipment:
        where = f"shipments[{index}]"
        lot = _text(raw, "lot", self, where)
        if lot not in own:
            raise self.fail(where, f"lot {lot} is not one of this organisation's lots")
        to_org = _text(raw, "to", self, where)
        if not ORG_SLUG.fullmatch(to_org):
            raise self.fail(where, f"to {to_org!r} is not an organisation slug")
        return Shipment(
            lot=lot,
            from_org=org,
            to_org=to_org,
            shipped_on=_date(raw, "date", self, where),
            quantity=_quantity(raw.get("quantity"), self, where, "quantity"),
            transit=tuple(
                self.transit_point(item, f"{where} transit[{i}]")
                for i, item in enumerate(_list(raw, "transit", self, where))
            ),
        )

    def transit_point(self, raw: object, where: str) -> TransitPoint:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a table with country and region")
        return TransitPoint(_country(raw, self, where), _text(raw, "region", self, where))

    def certificate(
        self, org: str, subjects: set[str], raw: Mapping[str, Any], index: int
    ) -> Certificate:
        where = f"certificates[{index}]"
        subject = _text(raw, "subject", self, where)
        full = subject if subject == org else facility_id(org, subject)
        if full not in subjects:
            raise self.fail(
                where, f"subject {subject!r} is neither this organisation nor its facility"
            )
        valid_from = _date(raw, "valid_from", self, where)
        valid_to = _date(raw, "valid_to", self, where)
        if valid_to < valid_from:
            raise self.fail(where, f"valid_to {valid_to} is before valid_from {valid_from}")
        status = raw.get("status", "ACTIVE")
        if status not in {"ACTIVE", "SUSPENDED", "WITHDRAWN"}:
            raise self.fail(where, f"status {status!r} is not ACTIVE, SUSPENDED or WITHDRAWN")
        return Certificate(
            id=_text(raw, "id", self, where),
            subject=full,
            issuer=_text(raw, "issuer", self, where),
            standard=_text(raw, "standard", self, where),
            scope=_text(raw, "scope", self, where),
            valid_from=valid_from,
            valid_to=valid_to,
            status=status,
            credential=self.credential(raw, where),
        )

    def credential(self, raw: Mapping[str, Any], where: str) -> str | None:
        """The record's audit credential: a compact vc+jwt, checked by whoever relies on it."""
        value = raw.get("credential")
        if value is None:
            return None
        if not isinstance(value, str) or value.count(".") != 2:
            raise self.fail(
                where, "credential must be a compact vc+jwt (three dot-separated parts)"
            )
        return value


def _table(raw: Mapping[str, Any], key: str, r: _Reader, where: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise r.fail(where, f"missing [{key}] table")
    return value


def _declared(raw: Mapping[str, Any], key: str) -> set[str]:
    """The ids the records of array ``key`` declare, whether or not the records are sound."""
    items = raw.get(key, [])
    if not isinstance(items, list):
        return set()
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _list(raw: Mapping[str, Any], key: str, r: _Reader, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise r.fail(where, f"{key} must be a list")
    return value


def _text(raw: Mapping[str, Any], key: str, r: _Reader, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise r.fail(where, f"{key} must be a non-empty string")
    return value


def _flag(raw: Mapping[str, Any], key: str, r: _Reader, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise r.fail(where, f"{key} must be true or false")
    return value


def _country(raw: Mapping[str, Any], r: _Reader, where: str) -> str:
    country = _text(raw, "country", r, where)
    if len(country) != 2 or not country.isascii() or not country.isupper():
        raise r.fail(where, f"country {country!r} is not an ISO 3166-1 alpha-2 code")
    return country


def _date(raw: Mapping[str, Any], key: str, r: _Reader, where: str) -> date:
    value = raw.get(key)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise r.fail(where, f"{key} must be a date (YYYY-MM-DD), not {value!r}")


def _fraction(
    raw: Mapping[str, Any], key: str, r: _Reader, where: str, default: float | None = None
) -> float:
    value = raw.get(key, default)
    if not is_number(value) or not 0 <= value <= 1:
        raise r.fail(where, f"{key} = {value!r} is not a fraction between 0 and 1")
    return float(value)


def _quantity(raw: object, r: _Reader, where: str, key: str) -> Quantity:
    if not isinstance(raw, dict):
        raise r.fail(where, f"{key} must be a table {{ value = ..., unit = ... }}")
    value, unit = raw.get("value"), raw.get("unit")
    if not is_number(value):
        raise r.fail(where, f"{key} value {value!r} is not a number")
    if value <= 0:
        raise r.fail(where, f"{key} {value} must be positive")
    if not is_mass_unit(unit):
        # Refused, never guessed at: see "Units" in docs/decisions.md.
        raise r.fail(where, f"{key}: {unknown_unit_problem(unit)}")
    return Quantity(float(value), unit)


def _enum(kind: type[_E], value: object, r: _Reader, where: str, name: str) -> _E:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(kind)
        raise r.fail(where, f"{name} {value!r} is not one of {allowed}") from None


def _with_transit(lots: list[Lot], shipments: list[Shipment]) -> list[Lot]:
    """Each lot with the transit points of its shipments (all of them, in order, once)."""
    transit: dict[str, list[TransitPoint]] = {}
    for shipment in shipments:
        points = transit.setdefault(shipment.lot, [])
        points.extend(p for p in shipment.transit if p not in points)
    return [
        replace(lot, transit=tuple(transit[lot.id])) if transit.get(lot.id) else lot for lot in lots
    ]
