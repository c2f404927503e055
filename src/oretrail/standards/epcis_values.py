"""Reading single values of an EPCIS document as the domain's values.

Every refusal is an :class:`EpcisProblem` saying what is wrong in words a data steward
can act on; the reader adds where (the event's index, the master data element).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from oretrail.domain.model import Activity, Certificate, Custody, is_element_symbol, is_number
from oretrail.standards.epcis_terms import CBVMDA, NAMESPACE

__all__ = [
    "EpcisProblem",
    "Terms",
    "activities",
    "certificate",
    "contents",
    "coordinate",
    "country",
    "custody",
    "entries",
    "flag",
    "fraction",
    "text",
]


class EpcisProblem(Exception):
    """One reason an event or a master data element cannot be read."""


class Terms:
    """A document's keys as full IRIs: compact keys (``prefix:name``) expanded with the
    prefixes its ``@context`` objects define (JSON-LD), over the CBV master data and
    oretrail prefixes. Remote contexts are not fetched."""

    def __init__(self, context: object) -> None:
        self.prefixes = {"cbvmda": CBVMDA, "oretrail": NAMESPACE}
        for item in context if isinstance(context, list) else [context]:
            if isinstance(item, dict):
                self.prefixes.update({k: v for k, v in item.items() if isinstance(v, str)})

    def expand(self, key: str) -> str:
        prefix, sep, rest = key.partition(":")
        if sep and prefix in self.prefixes and not rest.startswith("//"):
            return self.prefixes[prefix] + rest
        return key

    def ours(self, raw: object) -> dict[str, Any]:
        """The entries of an ILMD or extension object that are oretrail's terms, by name."""
        if not isinstance(raw, dict):
            raise EpcisProblem("ilmd must be an object")
        expanded = {self.expand(str(k)): v for k, v in raw.items()}
        return {k[len(NAMESPACE) :]: v for k, v in expanded.items() if k.startswith(NAMESPACE)}


def entries(raw: Mapping[str, Any], key: str) -> list[Any]:
    """The list under ``key`` (empty when absent)."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise EpcisProblem(f"{key} must be a list")
    return value


def text(raw: Mapping[str, Any], key: str, where: str) -> str:
    """A non-empty string under ``key``."""
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        name = key.rsplit("#", 1)[-1].rsplit(":", 1)[-1]
        raise EpcisProblem(f"{where}: {name} must be a non-empty string")
    return value


def country(value: object, where: str) -> str:
    """An ISO 3166-1 alpha-2 code, as the seed format takes it."""
    if not (isinstance(value, str) and len(value) == 2 and value.isascii() and value.isupper()):
        raise EpcisProblem(f"{where}: country {value!r} is not an ISO 3166-1 alpha-2 code")
    return value


def coordinate(value: object, limit: float, where: str) -> float | None:
    """A latitude (limit 90) or longitude (180) in degrees, a number or its text (CBV
    master data writes numbers as text); None when absent."""
    if value is None:
        return None
    number = float(value) if is_number(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not -limit <= number <= limit:
        raise EpcisProblem(f"{where}: coordinate {value!r} is not between -{limit} and {limit}")
    return number


def flag(value: object, where: str) -> bool:
    """A master data flag: the text "true" or "false" (attributes hold no booleans)."""
    if value is None:
        return False
    if value in ("true", "false"):  # a tuple: the value may be unhashable
        return value == "true"
    raise EpcisProblem(f'{where}: flag {value!r} must be "true" or "false"')


def activities(value: object, where: str) -> frozenset[Activity]:
    """A facility's activities: names of the closed list, separated by spaces."""
    if not isinstance(value, str):
        raise EpcisProblem(f"{where}: oretrail:activities must list the facility's activities")
    try:
        return frozenset(Activity(a) for a in value.split())
    except ValueError:
        allowed = ", ".join(Activity)
        raise EpcisProblem(f"{where}: activities {value!r} are not all of {allowed}") from None


def custody(value: object, lot: str) -> Custody:
    """An ISO 22095 chain-of-custody model by its name; never defaulted."""
    try:
        return Custody(str(value))
    except ValueError:
        allowed = ", ".join(Custody)
        raise EpcisProblem(
            f"ILMD of {lot}: oretrail:custody {value!r} is not one of {allowed} (ISO 22095)"
        ) from None


def fraction(value: object, name: str) -> float:
    """A number between 0 and 1 (a mass fraction or share)."""
    if not is_number(value) or not 0 <= value <= 1:
        raise EpcisProblem(f"ILMD oretrail:{name} {value!r} is not a fraction between 0 and 1")
    return float(value)


def contents(value: object, lot: str) -> dict[str, float] | None:
    """Element contents as mass fractions by element symbol; None when not declared."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EpcisProblem(
            f"ILMD of {lot}: oretrail:contents must map element symbols to fractions"
        )
    found = {}
    for element, share in value.items():
        if not is_element_symbol(element):
            raise EpcisProblem(f"ILMD of {lot}: contents: {element!r} is not an element symbol")
        found[element] = fraction(share, f"contents {element}")
    return found


def certificate(raw: object, subject: str, where: str) -> Certificate:
    """An ``oretrail:certificate`` attribute about ``subject`` (a facility id or the
    organisation's id): {id, issuer, standard, scope, validFrom, validTo, status}."""
    if not isinstance(raw, dict):
        raise EpcisProblem(f"{where}: oretrail:certificate must be an object")
    try:
        valid_from = date.fromisoformat(str(raw.get("validFrom")))
        valid_to = date.fromisoformat(str(raw.get("validTo")))
    except ValueError:
        raise EpcisProblem(f"{where}: certificate validFrom and validTo must be dates") from None
    status = raw.get("status", "ACTIVE")
    if status not in ("ACTIVE", "SUSPENDED", "WITHDRAWN"):  # a tuple: status may be a list
        raise EpcisProblem(
            f"{where}: certificate status {status!r} is not ACTIVE, SUSPENDED or WITHDRAWN"
        )
    return Certificate(
        id=text(raw, "id", f"{where} certificate"),
        subject=subject,
        issuer=text(raw, "issuer", f"{where} certificate"),
        standard=text(raw, "standard", f"{where} certificate"),
        scope=text(raw, "scope", f"{where} certificate"),
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
    )
