"""The supply-chain vocabulary: organisations, facilities, lots, links, shipments, certificates.

Plain frozen dataclasses and enums; no I/O and nothing but the standard library,
so every rule built on them can be tested in microseconds.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeGuard

from oretrail.errors import InvalidLotId

__all__ = [
    "CARBON_FOOTPRINT_UNITS",
    "ELEMENT_SYMBOLS",
    "MASS_UNITS",
    "Activity",
    "Certificate",
    "Custody",
    "Facility",
    "InputLink",
    "Lot",
    "LotRef",
    "Organisation",
    "Quantity",
    "Role",
    "Shipment",
    "TransitPoint",
    "is_element_symbol",
    "is_mass_unit",
    "is_number",
    "parse_lot_id",
    "unknown_element_problem",
    "unknown_unit_problem",
]

ORG_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_LOCAL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOT_PREFIX = "urn:oretrail:lot:"
_MAX_ID_LENGTH = 256


class Role(StrEnum):
    """What an organisation does in the chain."""

    MINE = "MINE"
    TRADER = "TRADER"
    SMELTER = "SMELTER"
    REFINER = "REFINER"
    PRECURSOR = "PRECURSOR"
    CATHODE = "CATHODE"
    ANODE = "ANODE"
    CELL = "CELL"
    PACK = "PACK"
    OEM = "OEM"
    RECYCLER = "RECYCLER"
    AUDITOR = "AUDITOR"
    NGO = "NGO"


class Custody(StrEnum):
    """ISO 22095 chain-of-custody models, strongest first."""

    IDENTITY_PRESERVED = "IDENTITY_PRESERVED"
    SEGREGATED = "SEGREGATED"
    CONTROLLED_BLENDING = "CONTROLLED_BLENDING"
    MASS_BALANCE = "MASS_BALANCE"
    BOOK_AND_CLAIM = "BOOK_AND_CLAIM"

    @property
    def strength(self) -> int:
        """Higher is stronger: IDENTITY_PRESERVED is 4, BOOK_AND_CLAIM is 0."""
        return len(_CUSTODY_ORDER) - 1 - _CUSTODY_ORDER.index(self)


_CUSTODY_ORDER = list(Custody)

# The one closed list of mass units, with kilograms per unit. Spelled exactly so:
# "T", "tonne", "Kg", "ton" are refused wherever data enters (seed files, node
# answers), never guessed at ("ton" is 907 kg in the US). docs/decisions.md.
MASS_UNITS: Final[Mapping[str, float]] = MappingProxyType({"kg": 1.0, "t": 1000.0})

# Element contents are keyed by IUPAC element symbol, exactly as written in the
# periodic table (case matters: "Co" is cobalt, "CO" is no element). The closed list
# is the whole table, so tin, tantalum, tungsten and gold (3TG) are as welcome as
# the battery metals; anything else is refused where data enters.
_PERIODIC_TABLE = """
    H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn
    Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce
    Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn
    Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl
    Mc Lv Ts Og
"""
ELEMENT_SYMBOLS: Final[frozenset[str]] = frozenset(_PERIODIC_TABLE.split())

# The closed list of units a lot's carbon footprint is declared in: kilograms of CO2
# equivalent, cradle to gate, per kilogram of the lot or per kWh of the lot's rated
# capacity (the functional unit of Regulation (EU) 2023/1542, Art. 7, for batteries).
CARBON_FOOTPRINT_UNITS: Final[frozenset[str]] = frozenset({"kgCO2e/kg", "kgCO2e/kWh"})


def is_mass_unit(unit: object) -> TypeGuard[str]:
    """Whether ``unit`` is on the closed list of mass units, spelled exactly."""
    return type(unit) is str and unit in MASS_UNITS


def unknown_unit_problem(unit: object) -> str:
    """Why ``unit`` is refused, in the words a data steward can act on."""
    shown = repr(unit) if len(repr(unit)) <= 40 else repr(unit)[:37] + "..."
    return (
        f"unit {shown} is not one of the mass units {', '.join(repr(u) for u in MASS_UNITS)} "
        "(spelled exactly: no other spelling is accepted)"
    )


def is_element_symbol(symbol: object) -> TypeGuard[str]:
    """Whether ``symbol`` is an element symbol of the periodic table, spelled exactly."""
    return type(symbol) is str and symbol in ELEMENT_SYMBOLS


def unknown_element_problem(symbol: object) -> str:
    shown = repr(symbol) if len(repr(symbol)) <= 40 else repr(symbol)[:37] + "..."
    return f"{shown} is not an element symbol (Co, Ni, Li, ... as in the periodic table)"


def is_number(value: object) -> TypeGuard[float]:
    """A finite int or float, and not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Quantity:
    """An amount with its unit; only mass units take part in attribution."""

    value: float
    unit: str

    def kilograms(self) -> float | None:
        """The amount in kg, or None when the unit is not a mass unit (never from a seed:
        seed files and node answers refuse every unit not in MASS_UNITS)."""
        factor = MASS_UNITS.get(self.unit)
        return None if factor is None else self.value * factor


def is_local_id(text: object) -> bool:
    """Whether ``text`` can be the local part of a lot id, the part after ``<org>:``."""
    return isinstance(text, str) and _LOCAL_ID.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class LotRef:
    """The parts of a global lot id: the owning organisation and its local id."""

    org: str
    local: str

    def __str__(self) -> str:
        return f"{LOT_PREFIX}{self.org}:{self.local}"


@functools.lru_cache(maxsize=1 << 16)
def parse_lot_id(text: str) -> LotRef:
    """Split ``urn:oretrail:lot:<org>:<local-id>``; raise InvalidLotId naming what is wrong.

    Cached: a trace parses each id several times on both sides (routing, grants,
    owners of input links), and a valid id always parses the same way.
    """
    shown = text if len(text) <= 80 else text[:77] + "..."
    if len(text) > _MAX_ID_LENGTH:
        raise InvalidLotId(f"lot id {shown!r} is longer than {_MAX_ID_LENGTH} characters")
    if not text.startswith(LOT_PREFIX):
        raise InvalidLotId(
            f"lot id {shown!r} does not start with {LOT_PREFIX!r}; "
            f"expected {LOT_PREFIX}<organisation>:<local-id>"
        )
    org, sep, local = text[len(LOT_PREFIX) :].partition(":")
    if not sep:
        raise InvalidLotId(f"lot id {shown!r} has no local id after the organisation")
    if not ORG_SLUG.fullmatch(org):
        raise InvalidLotId(
            f"lot id {shown!r}: organisation {org!r} is not a slug (a-z, 0-9 and '-')"
        )
    if not _LOCAL_ID.fullmatch(local):
        raise InvalidLotId(
            f"lot id {shown!r}: local id {local!r} may hold only letters, digits, '.', '_', '-'"
        )
    return LotRef(org, local)


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    roles: tuple[Role, ...]
    country: str


class Activity(StrEnum):
    """What a facility does with material: a closed list, several allowed per facility.

    Only EXTRACTION (mines, ASM sites included) and SCRAP_COLLECTION (end-of-life or
    manufacturing scrap, the recycled feed) make a lot without inputs an origin;
    PROCESSING_REFINING (smelting, refining or other chemical processing, a
    recycler's refining included) needs a third-party audit (DESIGN, Trace semantics).
    """

    EXTRACTION = "EXTRACTION"
    SCRAP_COLLECTION = "SCRAP_COLLECTION"
    PROCESSING_REFINING = "PROCESSING_REFINING"
    MANUFACTURING = "MANUFACTURING"
    TRADING_STORAGE = "TRADING_STORAGE"


# Activities at which a lot without inputs is an origin.
ORIGIN_ACTIVITIES = frozenset({Activity.EXTRACTION, Activity.SCRAP_COLLECTION})


@dataclass(frozen=True, slots=True)
class Facility:
    id: str
    org: str
    name: str
    kind: str
    country: str
    region: str
    latitude: float | None = None
    longitude: float | None = None
    artisanal: bool = False
    cahra: bool = False
    # None when not known to the reader (withheld by the owner's policy).
    activities: frozenset[Activity] | None = frozenset()


@dataclass(frozen=True, slots=True)
class Certificate:
    """An auditor's statement about a facility or an organisation."""

    id: str
    subject: str
    issuer: str
    standard: str
    scope: str
    valid_from: date
    valid_to: date
    status: str = "ACTIVE"
    # The W3C VC 2.0 audit credential (compact vc+jwt) the holder presents for it, if any.
    credential: str | None = None
    # What a verifier found (standards.audit_credentials.CredentialStatus): VALID,
    # EXPIRED, REVOKED, FORGED, UNKNOWN_ISSUER, STATUS_UNKNOWN; UNVERIFIED for a plain
    # record, or a credential nobody has checked yet.
    verification: str = "UNVERIFIED"

    def valid_on(self, day: date) -> bool:
        return self.status == "ACTIVE" and self.valid_from <= day <= self.valid_to


@dataclass(frozen=True, slots=True)
class InputLink:
    """Lot ``consumer`` consumed ``quantity`` of lot ``lot`` (an EPCIS TransformationEvent)."""

    lot: str
    quantity: Quantity


@dataclass(frozen=True, slots=True)
class Lot:
    id: str
    owner: str
    material: str
    quantity: Quantity
    produced_at: date
    facility: str
    custody: Custody
    # Mass fractions by element symbol. None means "not declared"; an element
    # missing from a declared mapping is zero.
    contents: dict[str, float] | None = None
    carbon_footprint: float | None = None
    recycled_pre_consumer: float = 0.0
    recycled_post_consumer: float = 0.0
    inputs: tuple[InputLink, ...] = field(default_factory=tuple)
    # Transit points of this lot's shipments, as its owner recorded them (all its
    # shipments together: the node does not know which customer a caller follows).
    transit: tuple[TransitPoint, ...] = ()
    # The unit of ``carbon_footprint``, one of CARBON_FOOTPRINT_UNITS (set whenever it is).
    carbon_footprint_unit: str | None = None
    # For batteries and cells: the rated energy of the whole lot in kWh.
    rated_capacity_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class TransitPoint:
    """A place a shipment passed through on its way (ISO 3166-1 alpha-2 country, region)."""

    country: str
    region: str


@dataclass(frozen=True, slots=True)
class Shipment:
    lot: str
    from_org: str
    to_org: str
    shipped_on: date
    quantity: Quantity
    transit: tuple[TransitPoint, ...] = ()
