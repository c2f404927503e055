"""Reading EPCIS 2.0 documents into one organisation's records: lots, input links,
shipments, facilities and certificates.

A document is checked as a whole first: every problem of every event is collected,
each naming the event by its index in the event list, and one problem refuses the
whole document (:class:`EpcisRefused`); nothing is half-read. What becomes what:

- TransformationEvent: its one output (``outputQuantityList``) is a lot of the
  importing organisation, its inputs (``inputQuantityList``) are the lot's input links;
- ObjectEvent with action ADD and ``ilmd``: each ``quantityList`` entry is a lot
  without inputs (a mine's ore, a collector's scrap);
- ObjectEvent naming source and destination parties (``owning_party``, else
  ``possessing_party``): a shipment of each ``quantityList`` entry when the source is
  the importing organisation; ignored when it is the destination (the sender keeps
  the shipment record); refused when neither;
- ILMD carries a lot's material, custody model (ISO 22095), element contents (mass
  fractions), carbon footprint and recycled shares; master data (BusinessLocation,
  ReadPoint, Party vocabularies) carries facilities and certificates;
- everything else (aggregation, association, transaction events, observations
  without parties) carries nothing oretrail models, and is listed as ignored.

Refused: quantities without a mass unit (no ``uom``: a count of items) or with a unit
other than KGM and TNE; instance identifiers (``epcList``: items carry no mass);
input lots of the importing organisation defined nowhere; events without a type;
events that retract earlier ones (``errorDeclaration``: oretrail keeps no event
history to undo); parties and places the registry does not know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from oretrail.domain.model import (
    CARBON_FOOTPRINT_UNITS,
    Certificate,
    Facility,
    InputLink,
    Lot,
    Quantity,
    Shipment,
    TransitPoint,
    is_number,
    parse_lot_id,
)
from oretrail.errors import InvalidInput, InvalidLotId
from oretrail.standards.epcis_masterdata import read_master_data
from oretrail.standards.epcis_terms import MASS_UOM, Gs1Directory
from oretrail.standards.epcis_values import (
    EpcisProblem,
    Terms,
    contents,
    country,
    custody,
    entries,
    fraction,
    text,
)

__all__ = ["EpcisImport", "EpcisRefused", "read_epcis"]

_PARTY_TYPES = ("owning_party", "possessing_party")


class EpcisRefused(InvalidInput):
    """An EPCIS document refused whole; ``problems`` names each event and reason."""

    code = "EPCIS_REFUSED"

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(slots=True)
class EpcisImport:
    """What documents hold for one organisation, ready to merge into its store."""

    lots: list[Lot] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    facilities: list[Facility] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def links(self) -> int:
        return sum(len(lot.inputs) for lot in self.lots)


def read_epcis(
    documents: Sequence[tuple[str, str]],
    org: str,
    directory: Gs1Directory,
    known_lots: Iterable[str] = (),
    known_facilities: Iterable[str] = (),
) -> EpcisImport:
    """Read ``(name, JSON text)`` documents for organisation ``org``.

    ``known_lots`` and ``known_facilities`` are what the organisation's store holds
    already (inputs and shipments may name them). Raises EpcisRefused listing every
    problem of every document, each prefixed by the document's name.
    """
    parsed: list[tuple[str, _Document]] = []
    problems: list[str] = []
    for name, content in documents:
        try:
            parsed.append((name, _Document(content, org, directory)))
        except EpcisRefused as exc:
            problems.extend(f"{name}: {p}" for p in exc.problems)
    result = EpcisImport()
    lots_known = set(known_lots)
    facilities_known = set(known_facilities)
    for _, document in parsed:
        lots_known |= document.defined_lots()
        facilities_known |= {f.id for f in document.facilities}
    for name, document in parsed:
        document.read_events(lots_known, facilities_known)
        problems.extend(f"{name}: {p}" for p in document.problems)
        result.lots.extend(document.lots)
        result.shipments.extend(document.shipments)
        result.facilities.extend(document.facilities)
        result.certificates.extend(document.certificates)
        result.ignored.extend(f"{name}: {note}" for note in document.ignored)
    problems.extend(_defined_twice(result))
    if problems:
        raise EpcisRefused(*problems)
    return result


def _defined_twice(result: EpcisImport) -> list[str]:
    seen: set[str] = set()
    problems = []
    for lot in result.lots:
        if lot.id in seen:
            problems.append(f"lot {lot.id} is produced by more than one event")
        seen.add(lot.id)
    return problems


class _Document:
    """One parsed document: its terms, master data and events, read for one organisation."""

    def __init__(self, text: str, org: str, directory: Gs1Directory) -> None:
        self.org = org
        self.directory = directory
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EpcisRefused(
                f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        # Tuples, not sets, for membership: an untrusted value may be unhashable.
        if not isinstance(raw, dict) or raw.get("type") not in (
            "EPCISDocument",
            "EPCISQueryDocument",
        ):
            raise EpcisRefused("not an EPCISDocument or EPCISQueryDocument")
        self.terms = Terms(raw.get("@context"))
        self.events = _event_list(raw)
        master = read_master_data(raw, org, directory, self.terms)
        self.problems: list[str] = master.problems
        self.facilities: list[Facility] = master.facilities
        self.certificates: list[Certificate] = master.certificates
        self.ignored: list[str] = []
        self.lots: list[Lot] = []
        self.shipments: list[Shipment] = []

    def defined_lots(self) -> set[str]:
        """Lots this document's events produce, as far as they can be read (so that
        an input naming one is not called undefined when its event has a problem)."""
        defined = set()
        for event in self.events:
            if not isinstance(event, dict):
                continue
            listed: object = None
            if event.get("type") == "TransformationEvent":
                listed = event.get("outputQuantityList")
            elif event.get("type") == "ObjectEvent" and event.get("action") == "ADD":
                listed = event.get("quantityList")
            for entry in listed if isinstance(listed, list) else []:
                try:
                    defined.add(self.directory.lot(str(entry.get("epcClass"))))
                except (ValueError, AttributeError):
                    continue
        return defined

    def read_events(self, lots: set[str], facilities: set[str]) -> None:
        for index, event in enumerate(self.events):
            noted = len(self.ignored)
            try:
                self.read_event(event, lots, facilities)
            except EpcisProblem as exc:
                self.problems.append(f"event {index}: {exc}")
            self.ignored[noted:] = [f"event {index}: {note}" for note in self.ignored[noted:]]

    def read_event(self, event: object, lots: set[str], facilities: set[str]) -> None:
        if not isinstance(event, dict):
            raise EpcisProblem("is not a JSON object")
        kind = event.get("type")
        if not isinstance(kind, str) or not kind:
            raise EpcisProblem("has no event type")
        if "errorDeclaration" in event:
            raise EpcisProblem(
                "retracts an earlier event (errorDeclaration); oretrail keeps no event "
                "history to undo: import the corrected records instead (a lot imported "
                "again replaces the earlier one)"
            )
        if kind == "TransformationEvent":
            self.transformation(event, lots, facilities)
        elif kind == "ObjectEvent":
            self.object_event(event, lots, facilities)
        else:
            self.ignored.append(f"{kind}: carries nothing oretrail models")

    def transformation(
        self, event: Mapping[str, Any], lots: set[str], facilities: set[str]
    ) -> None:
        reasons = []
        for key in ("inputEPCList", "outputEPCList"):
            if event.get(key):
                reasons.append(_instances_problem(key))
        inputs: list[InputLink] = []
        for i, entry in enumerate(entries(event, "inputQuantityList")):
            try:
                inputs.append(self.input_link(entry, lots))
            except EpcisProblem as exc:
                reasons.append(f"inputQuantityList[{i}]: {exc}")
        outputs = entries(event, "outputQuantityList")
        for i, entry in enumerate(outputs):
            try:
                self.lot_quantity(entry, f"outputQuantityList[{i}]")
            except EpcisProblem as exc:
                reasons.append(str(exc))
        if len(outputs) != 1:
            reasons.append(
                f"has {len(outputs)} outputs in outputQuantityList; oretrail records which "
                "lot consumed which inputs, so a transformation must have exactly one "
                "output lot (split co-products into one event each)"
            )
        if reasons:
            raise EpcisProblem("; ".join(reasons))
        self.lots.append(self.produced_lot(event, outputs[0], tuple(inputs), facilities))

    def object_event(self, event: Mapping[str, Any], lots: set[str], facilities: set[str]) -> None:
        source = self.party_of(event.get("sourceList"), "source")
        destination = self.party_of(event.get("destinationList"), "destination")
        commissioning = event.get("action") == "ADD" and isinstance(event.get("ilmd"), dict)
        if not commissioning and (source is None or destination is None):
            self.ignored.append("ObjectEvent without source and destination parties or ILMD")
            return
        if event.get("epcList"):
            raise EpcisProblem(_instances_problem("epcList"))
        listed = entries(event, "quantityList")
        if commissioning:
            for entry in listed:
                self.lots.append(self.produced_lot(event, entry, (), facilities))
        if source is None or destination is None:
            return
        if source != self.org:
            if destination == self.org:
                self.ignored.append(
                    f"ObjectEvent: a delivery from {source} to {self.org}: "
                    "the sender's node keeps the shipment record"
                )
                return
            raise EpcisProblem(
                f"records a shipment from {source} to {destination}; "
                f"neither is {self.org}, the organisation importing"
            )
        transit = self.transit(event)
        for i, entry in enumerate(listed):
            lot, quantity = self.lot_quantity(entry, f"quantityList[{i}]")
            if parse_lot_id(lot).org != self.org or lot not in lots:
                raise EpcisProblem(
                    f"ships lot {lot}, which is not a lot of {self.org} defined in the "
                    "documents or the store"
                )
            self.shipments.append(
                Shipment(lot, self.org, destination, self.event_date(event), quantity, transit)
            )

    def party_of(self, listed: object, side: str) -> str | None:
        """The participant named as owning (else possessing) party, or None if none is."""
        if not isinstance(listed, list):
            return None
        by_type = {
            item["type"]: item.get(side)
            for item in listed
            if isinstance(item, dict) and isinstance(item.get("type"), str)
        }
        uri = next((by_type[t] for t in _PARTY_TYPES if t in by_type), None)
        if uri is None:
            return None
        org = self.directory.party(str(uri))
        if org is None:
            raise EpcisProblem(f"{side} party {uri} is not in the registry (no participant has it)")
        return org

    def transit(self, event: Mapping[str, Any]) -> tuple[TransitPoint, ...]:
        points = self.terms.ours(event).get("transit", [])
        if not isinstance(points, list):
            raise EpcisProblem("oretrail:transit must be a list of {country, region}")
        result = []
        for point in points:
            if not isinstance(point, dict):
                raise EpcisProblem("oretrail:transit must be a list of {country, region}")
            result.append(
                TransitPoint(
                    country(point.get("country"), "transit point"),
                    text(point, "region", "transit point"),
                )
            )
        return tuple(result)

    def input_link(self, entry: object, lots: set[str]) -> InputLink:
        lot, quantity = self.lot_quantity(entry, "")
        if parse_lot_id(lot).org == self.org and lot not in lots:
            raise EpcisProblem(
                f"input {lot} is a lot of {self.org} that is defined nowhere "
                "(not in the documents, not in the store)"
            )
        return InputLink(lot, quantity)

    def lot_quantity(self, entry: object, where: str) -> tuple[str, Quantity]:
        at = f"{where}: " if where else ""
        if not isinstance(entry, dict):
            raise EpcisProblem(f"{at}must be an object with epcClass, quantity and uom")
        try:
            lot = self.directory.lot(str(entry.get("epcClass")))
            parse_lot_id(lot)
        except (ValueError, InvalidLotId) as exc:
            raise EpcisProblem(f"{at}{exc}") from None
        value, uom = entry.get("quantity"), entry.get("uom")
        if not is_number(value):
            raise EpcisProblem(f"{at}quantity {value!r} of {lot} is not a number")
        if uom is None:
            raise EpcisProblem(
                f"{at}quantity of {lot} has no unit: a quantity without a mass unit "
                "(KGM or TNE) counts items and is refused"
            )
        if not isinstance(uom, str) or uom not in MASS_UOM:
            raise EpcisProblem(
                f"{at}unit {uom!r} of {lot} is not a mass unit oretrail accepts "
                "(KGM for kg, TNE for t)"
            )
        if value <= 0:
            raise EpcisProblem(f"{at}quantity {value} of {lot} must be positive")
        return lot, Quantity(float(value), MASS_UOM[uom])

    def produced_lot(
        self,
        event: Mapping[str, Any],
        entry: object,
        inputs: tuple[InputLink, ...],
        facilities: set[str],
    ) -> Lot:
        lot_id, quantity = self.lot_quantity(entry, "output")
        if parse_lot_id(lot_id).org != self.org:
            raise EpcisProblem(f"produces lot {lot_id}, which is not a lot of {self.org}")
        ilmd = self.terms.ours(event.get("ilmd") or {})
        place = event.get("bizLocation") or event.get("readPoint")
        uri = place.get("id") if isinstance(place, dict) else None
        facility = self.directory.facility(str(uri)) if uri else None
        if facility is None or facility not in facilities:
            raise EpcisProblem(
                f"lot {lot_id}: its place {uri!r} (bizLocation, else readPoint) is no "
                f"facility of {self.org} known to the registry, the master data or the store"
            )
        pre = fraction(ilmd.get("recycledPreConsumer", 0.0), "recycledPreConsumer")
        post = fraction(ilmd.get("recycledPostConsumer", 0.0), "recycledPostConsumer")
        carbon = ilmd.get("carbonFootprint")
        if carbon is not None and not (is_number(carbon) and carbon >= 0):
            raise EpcisProblem(f"ILMD oretrail:carbonFootprint {carbon!r} must be a number >= 0")
        carbon_unit = ilmd.get("carbonFootprintUnit")
        if carbon is not None and carbon_unit not in tuple(sorted(CARBON_FOOTPRINT_UNITS)):
            allowed = ", ".join(sorted(CARBON_FOOTPRINT_UNITS))
            raise EpcisProblem(
                f"ILMD of {lot_id}: oretrail:carbonFootprintUnit {carbon_unit!r} is not one "
                f"of {allowed}"
            )
        capacity = ilmd.get("ratedCapacityKWh")
        if capacity is not None and not (is_number(capacity) and capacity > 0):
            raise EpcisProblem(f"ILMD oretrail:ratedCapacityKWh {capacity!r} must be a number > 0")
        return Lot(
            id=lot_id,
            owner=self.org,
            material=text(ilmd, "material", f"ILMD of {lot_id} (oretrail:material)"),
            quantity=quantity,
            produced_at=self.event_date(event),
            facility=facility,
            custody=custody(ilmd.get("custody"), lot_id),
            contents=contents(ilmd.get("contents"), lot_id),
            carbon_footprint=None if carbon is None else float(carbon),
            carbon_footprint_unit=None if carbon is None else str(carbon_unit),
            rated_capacity_kwh=None if capacity is None else float(capacity),
            recycled_pre_consumer=pre,
            recycled_post_consumer=post,
            inputs=inputs,
        )

    def event_date(self, event: Mapping[str, Any]) -> date:
        """The event's calendar date where it happened (eventTime at its own offset)."""
        try:
            moment = datetime.fromisoformat(str(event.get("eventTime")).replace("Z", "+00:00"))
            offset = str(event.get("eventTimeZoneOffset"))
            sign = -1 if offset.startswith("-") else 1
            hours, minutes = offset[1:].split(":")
            zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
        except ValueError:
            raise EpcisProblem(
                "eventTime and eventTimeZoneOffset must be a time and an offset"
            ) from None
        if moment.tzinfo is None:
            raise EpcisProblem("eventTime has no time zone")
        return moment.astimezone(zone).date()


def _event_list(raw: Mapping[str, Any]) -> list[Any]:
    body = raw.get("epcisBody")
    if not isinstance(body, dict):
        raise EpcisRefused("document has no epcisBody")
    if raw.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, dict) else None
        if not isinstance(body, dict):
            raise EpcisRefused("query document has no queryResults.resultsBody")
    events = body.get("eventList")
    if not isinstance(events, list):
        raise EpcisRefused("document has no eventList")
    return events


def _instances_problem(key: str) -> str:
    return (
        f"{key} names instances (single items), which carry no mass; oretrail records "
        "lots by mass (quantity lists with KGM or TNE)"
    )
