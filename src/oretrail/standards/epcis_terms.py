"""EPCIS 2.0 terms oretrail reads and writes, and GS1 identifiers resolved by the registry.

Quantities: CBV/UN-ECE Recommendation 20 unit codes KGM (kilogram) and TNE (tonne)
are the only mass units taken (the domain's closed list, kg and t); a quantity with
no ``uom`` is a count of items in EPCIS, so it carries no mass and is refused.
Identifiers: a lot is an EPC class, either ``urn:oretrail:lot:<org>:<local>`` or a
GS1 LGTIN (EPC URI ``urn:epc:class:lgtin:`` or GS1 Digital Link ``/01/<GTIN>/10/<lot>``)
whose company prefix belongs to a registered participant's PGLN; parties are PGLNs
(or SGLNs of a registered facility) or ``urn:oretrail:org:<slug>``; places are SGLNs
or ``urn:oretrail:facility:<org>:<local>``. See docs/standards.md, "EPCIS 2.0".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote, urlsplit

from oretrail.config import Registry
from oretrail.domain.model import LOT_PREFIX, ORG_SLUG, is_local_id
from oretrail.store.seed import FACILITY_PREFIX, facility_id

__all__ = [
    "BIZ_STEP_MINING",
    "BIZ_STEP_REFINING",
    "BIZ_STEP_SMELTING",
    "CBVMDA",
    "CONTEXT",
    "MASS_UOM",
    "NAMESPACE",
    "ORG_PREFIX",
    "UOM_OF_UNIT",
    "Gs1Directory",
]

CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# oretrail's own terms (ILMD, master data, event extensions), compact prefix "oretrail".
NAMESPACE: Final = "urn:oretrail:epcis:"
CBVMDA: Final = "urn:epcglobal:cbv:mda#"
ORG_PREFIX: Final = "urn:oretrail:org:"

# Business steps the Core Business Vocabulary lacks (documented in docs/standards.md).
BIZ_STEP_MINING: Final = "urn:oretrail:bizstep:mining"
BIZ_STEP_SMELTING: Final = "urn:oretrail:bizstep:smelting"
BIZ_STEP_REFINING: Final = "urn:oretrail:bizstep:refining"

# UN/ECE Recommendation 20 codes of the domain's mass units, and back.
MASS_UOM: Final[Mapping[str, str]] = MappingProxyType({"KGM": "kg", "TNE": "t"})
UOM_OF_UNIT: Final[Mapping[str, str]] = MappingProxyType({"kg": "KGM", "t": "TNE"})

_LGTIN_URN = re.compile(r"urn:epc:class:lgtin:(\d{6,12})\.(\d{1,7})\.(.{1,60})")
_DIGITAL_LINK = re.compile(r"/01/(\d{14})/10/([^/]{1,60})")
_PGLN = re.compile(r"urn:epc:id:pgln:(\d{6,12})\.(\d{0,6})")


def gtin14(prefix: str, item_reference: str) -> str:
    """The GTIN-14 of an EPC URI's company prefix and item reference (indicator digit
    first), with its check digit (GS1 General Specifications 7.9.1)."""
    body = item_reference[0] + prefix + item_reference[1:]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Gs1Directory:
    """The registry's GS1 identifiers, both ways: PGLN and company prefix to participant,
    SGLN to facility id; and each participant's PGLN, each facility's SGLN."""

    party_of: Mapping[str, str]
    facility_of: Mapping[str, str]
    prefix_of: Mapping[str, str]
    known_orgs: frozenset[str]

    @classmethod
    def from_registry(cls, registry: Registry) -> Gs1Directory:
        party_of: dict[str, str] = {}
        facility_of: dict[str, str] = {}
        prefix_of: dict[str, str] = {}
        for p in registry.participants.values():
            if p.pgln:
                party_of[p.pgln] = p.id
                match = _PGLN.fullmatch(p.pgln)
                if match:
                    prefix_of[match[1]] = p.id
            for local, sgln in p.sglns:
                facility_of[sgln] = facility_id(p.id, local)
                party_of.setdefault(sgln, p.id)
        return cls(
            MappingProxyType(party_of),
            MappingProxyType(facility_of),
            MappingProxyType(prefix_of),
            frozenset(registry.participants),
        )

    def party(self, uri: str) -> str | None:
        """The participant a party identifier names, or None."""
        if uri.startswith(ORG_PREFIX):
            org = uri[len(ORG_PREFIX) :]
            return org if org in self.known_orgs else None
        return self.party_of.get(uri)

    def party_uri(self, org: str) -> str:
        """The identifier a participant is named by in documents: its PGLN if it has one."""
        for uri, owner in self.party_of.items():
            if owner == org and uri.startswith("urn:epc:id:pgln:"):
                return uri
        return ORG_PREFIX + org

    def facility(self, uri: str) -> str | None:
        """The facility id a location identifier names, or None when it names none."""
        if uri.startswith(FACILITY_PREFIX):
            return uri
        return self.facility_of.get(uri)

    def location_uri(self, facility: str) -> str:
        """The identifier a facility is named by in documents: its SGLN if it has one."""
        for uri, named in self.facility_of.items():
            if named == facility:
                return uri
        return facility

    def lot(self, epc_class: str) -> str:
        """The lot id an EPC class names; raises ValueError saying why it names none."""
        if epc_class.startswith(LOT_PREFIX):
            return epc_class  # checked by the domain's parse_lot_id where it is used
        if epc_class.startswith("urn:epc:idpat:"):
            raise ValueError(f"{epc_class} is a pattern of instances, not a lot (no lot number)")
        match = _LGTIN_URN.fullmatch(epc_class)
        if match:
            prefix, item, lot = match[1], match[2], unquote(match[3])
            return self._gs1_lot(prefix, gtin14(prefix, item), lot, epc_class)
        parts = urlsplit(epc_class)
        if parts.scheme in {"http", "https"} and "/01/" in parts.path:
            link = _DIGITAL_LINK.fullmatch(parts.path)
            if link is None:
                raise ValueError(f"{epc_class} names a trade item (GTIN) without a lot number")
            gtin, lot = link[1], unquote(link[2])
            prefix = next((p for p in self.prefix_of if gtin[1:].startswith(p)), None)
            if prefix is None:
                raise ValueError(
                    f"{epc_class}: no participant has the GS1 company prefix of GTIN {gtin}"
                )
            return self._gs1_lot(prefix, gtin, lot, epc_class)
        raise ValueError(
            f"{epc_class} is neither an oretrail lot id nor a GS1 LGTIN (EPC URI or Digital Link)"
        )

    def _gs1_lot(self, prefix: str, gtin: str, lot: str, epc_class: str) -> str:
        owner = self.prefix_of.get(prefix)
        if owner is None:
            raise ValueError(f"{epc_class}: no participant has GS1 company prefix {prefix}")
        local = f"{gtin}.{lot}"
        if not is_local_id(local) or not ORG_SLUG.fullmatch(owner):
            raise ValueError(
                f"{epc_class}: lot number {lot!r} holds characters a lot id cannot "
                "(letters, digits, '.', '_', '-')"
            )
        return f"{LOT_PREFIX}{owner}:{local}"
