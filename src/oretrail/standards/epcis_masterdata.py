"""EPCIS master data (``epcisHeader.epcisMasterData``) read as the importing
organisation's facilities and certificates.

BusinessLocation and ReadPoint elements that name one of its facilities (by SGLN or
facility id) give the facility: CBV attributes ``urn:epcglobal:cbv:mda#name``,
``#countryCode``, ``#state`` (the region), ``#latitude``, ``#longitude``, and oretrail's
``facilityKind``, ``activities``, ``artisanal``, ``cahra`` and ``certificate``; a Party
element naming the organisation gives certificates about it. Other parties' places and
parties are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oretrail.domain.model import Certificate, Facility
from oretrail.standards.epcis_terms import CBVMDA, NAMESPACE, Gs1Directory
from oretrail.standards.epcis_values import (
    EpcisProblem,
    Terms,
    activities,
    certificate,
    coordinate,
    country,
    entries,
    flag,
    text,
)
from oretrail.store.seed import FACILITY_PREFIX

__all__ = ["MasterData", "read_master_data"]

# A tuple: the type read from a document may be unhashable (a list).
_LOCATION_TYPES = (
    "urn:epcglobal:epcis:vtype:BusinessLocation",
    "urn:epcglobal:epcis:vtype:ReadPoint",
)
_PARTY_TYPE = "urn:epcglobal:epcis:vtype:Party"
_CERTIFICATE = NAMESPACE + "certificate"


@dataclass(slots=True)
class MasterData:
    """The facilities and certificates a document's master data gives, and every
    problem found, each naming the vocabulary and element."""

    facilities: list[Facility] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_master_data(
    document: Mapping[str, Any], org: str, directory: Gs1Directory, terms: Terms
) -> MasterData:
    found = MasterData()
    header = document.get("epcisHeader")
    master = header.get("epcisMasterData") if isinstance(header, dict) else None
    vocabularies = master.get("vocabularyList") if isinstance(master, dict) else None
    for v_index, vocabulary in enumerate(vocabularies if isinstance(vocabularies, list) else []):
        kind = vocabulary.get("type") if isinstance(vocabulary, dict) else None
        if kind not in _LOCATION_TYPES and kind != _PARTY_TYPE:
            continue
        try:
            elements = entries(vocabulary, "vocabularyElementList")
        except EpcisProblem as exc:
            found.problems.append(f"master data vocabularyList[{v_index}]: {exc}")
            continue
        for e_index, element in enumerate(elements):
            try:
                if not isinstance(element, dict):
                    raise EpcisProblem("must be an object with id and attributes")
                attributes = _attributes(element, terms)
                uri = str(element.get("id"))
                if kind == _PARTY_TYPE:
                    if directory.party(uri) == org:
                        found.certificates.extend(
                            certificate(v, org, uri) for k, v in attributes if k == _CERTIFICATE
                        )
                    continue
                facility = directory.facility(uri)
                if facility is None or not facility.startswith(f"{FACILITY_PREFIX}{org}:"):
                    continue  # another party's place: not ours to record
                found.facilities.append(_facility(facility, org, uri, attributes))
                found.certificates.extend(
                    certificate(v, facility, uri) for k, v in attributes if k == _CERTIFICATE
                )
            except EpcisProblem as exc:
                where = f"master data vocabularyList[{v_index}] element {e_index}"
                found.problems.append(f"{where}: {exc}")
    return found


def _attributes(element: Mapping[str, Any], terms: Terms) -> list[tuple[str, Any]]:
    return [
        (terms.expand(str(a.get("id"))), a.get("attribute"))
        for a in entries(element, "attributes")
        if isinstance(a, dict)
    ]


def _facility(facility: str, org: str, uri: str, attributes: list[tuple[str, Any]]) -> Facility:
    values = {k: v for k, v in attributes if k != _CERTIFICATE}
    return Facility(
        id=facility,
        org=org,
        name=text(values, CBVMDA + "name", uri),
        kind=text(values, NAMESPACE + "facilityKind", uri),
        country=country(values.get(CBVMDA + "countryCode"), uri),
        region=text(values, CBVMDA + "state", uri),
        latitude=coordinate(values.get(CBVMDA + "latitude"), 90, uri),
        longitude=coordinate(values.get(CBVMDA + "longitude"), 180, uri),
        artisanal=flag(values.get(NAMESPACE + "artisanal"), uri),
        cahra=flag(values.get(NAMESPACE + "cahra"), uri),
        activities=activities(values.get(NAMESPACE + "activities"), uri),
    )
