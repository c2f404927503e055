"""Commodity due-diligence profiles: elements, risk categories, red flags, defined outcomes.

A profile says, for one commodity (cobalt, lithium, nickel, natural graphite,
copper, rare earths), what a buyer's due diligence looks at and what it sets out
to achieve (OECD Due Diligence Guidance, steps 2 and 3; EU 2023/1542 Articles
48-52 and Annex X). :func:`parse_profile` reads one profile from the mapping a
TOML file holds and refuses, naming the file and the key, any unknown key, any
value not on its closed list and any threshold out of range, so a typo never
weakens an outcome. Sources of every category and threshold: docs/due-diligence.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from oretrail.domain.model import is_element_symbol, is_number
from oretrail.errors import ConfigError

__all__ = [
    "AnnexIICategory",
    "AnnexXCategory",
    "CommodityProfile",
    "DefinedOutcome",
    "OutcomeKind",
    "RedFlag",
    "parse_profile",
    "profiles_for",
]

_E = TypeVar("_E", bound=StrEnum)


class AnnexIICategory(StrEnum):
    """The risk categories of the OECD Due Diligence Guidance's Annex II model policy."""

    SERIOUS_ABUSES = "SERIOUS_ABUSES"  # torture, forced or child labour, war crimes (para 1-2)
    NON_STATE_ARMED_GROUPS = "NON_STATE_ARMED_GROUPS"  # direct or indirect support (para 3-4)
    SECURITY_FORCES = "SECURITY_FORCES"  # public or private security forces (para 5-8)
    BRIBERY_MISREPRESENTATION = "BRIBERY_MISREPRESENTATION"  # of origin (para 11-12)
    MONEY_LAUNDERING = "MONEY_LAUNDERING"  # (para 13)
    TAXES_FEES_ROYALTIES = "TAXES_FEES_ROYALTIES"  # payments due to governments (para 14-15)


class AnnexXCategory(StrEnum):
    """The social and environmental risk categories of EU 2023/1542 Annex X point 2."""

    AIR = "AIR"
    WATER = "WATER"
    SOIL = "SOIL"
    BIODIVERSITY = "BIODIVERSITY"
    HUMAN_HEALTH = "HUMAN_HEALTH"
    OCCUPATIONAL_HEALTH_SAFETY = "OCCUPATIONAL_HEALTH_SAFETY"
    LABOUR_RIGHTS = "LABOUR_RIGHTS"
    HUMAN_RIGHTS = "HUMAN_RIGHTS"
    COMMUNITIES = "COMMUNITIES"


class RedFlag(StrEnum):
    """Red flags a profile raises (OECD DDG Annex I, step 1 red flags).

    The first three are the trace's own flags (domain.risks); UNRECOGNISED_AUDIT is a
    smelter, refiner or processor without an audit the profile recognises.
    """

    CAHRA_ORIGIN = "CAHRA_ORIGIN"
    CAHRA_TRANSIT = "CAHRA_TRANSIT"
    ASM_ORIGIN = "ASM_ORIGIN"
    UNRECOGNISED_AUDIT = "UNRECOGNISED_AUDIT"


class OutcomeKind(StrEnum):
    """What a defined outcome measures, per element of the profile.

    COVERAGE, AUDITED_PROCESSORS and RECYCLED_CONTENT are met at or above the
    threshold; RED_FLAGS_MANAGED (the share under a red flag without a
    risk-management record) is met at or below it.
    """

    COVERAGE = "COVERAGE"
    AUDITED_PROCESSORS = "AUDITED_PROCESSORS"
    RED_FLAGS_MANAGED = "RED_FLAGS_MANAGED"
    RECYCLED_CONTENT = "RECYCLED_CONTENT"

    @property
    def at_most(self) -> bool:
        """Whether the threshold is a ceiling rather than a floor."""
        return self is OutcomeKind.RED_FLAGS_MANAGED


@dataclass(frozen=True, slots=True)
class DefinedOutcome:
    """One outcome the buyer sets out to achieve: a kind and a threshold (a fraction, 0..1)."""

    id: str
    kind: OutcomeKind
    threshold: float
    statement: str


@dataclass(frozen=True, slots=True)
class CommodityProfile:
    """A commodity's due-diligence profile, as read from config/commodities/<commodity>.toml."""

    commodity: str
    name: str
    elements: tuple[str, ...]
    oecd_annex_ii: tuple[AnnexIICategory, ...]
    eu_annex_x: tuple[AnnexXCategory, ...]
    recognised_audits: frozenset[str]
    red_flags: frozenset[RedFlag]
    outcomes: tuple[DefinedOutcome, ...]

    def recognises(self, standard: str) -> bool:
        """Whether an audit to ``standard`` counts for this commodity (case-insensitive)."""
        return standard.upper() in self.recognised_audits


_PROFILE_KEYS = frozenset(
    {
        "commodity",
        "name",
        "elements",
        "oecd_annex_ii",
        "eu_annex_x",
        "recognised_audits",
        "red_flags",
        "outcomes",
    }
)
_OUTCOME_KEYS = frozenset({"id", "kind", "threshold", "statement"})


class _Reader:
    """Reads one profile's mapping; every refusal names the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def keys(self, raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
        for key in raw:
            if key not in allowed:
                raise self.fail(
                    f"{where}{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}"
                )
        for key in sorted(allowed - set(raw)):
            raise self.fail(f"{where}{key}", "missing")

    def text(self, raw: Mapping[str, Any], key: str, where: str = "") -> str:
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "must be a non-empty string")
        return value

    def texts(self, raw: Mapping[str, Any], key: str) -> list[str]:
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        if len(set(value)) != len(value):
            raise self.fail(key, "lists a value twice")
        return list(value)

    def members(self, raw: Mapping[str, Any], key: str, kind: type[_E]) -> list[_E]:
        result = []
        for value in self.texts(raw, key):
            try:
                result.append(kind(value))
            except ValueError:
                allowed = ", ".join(member.value for member in kind)
                raise self.fail(key, f"{value!r} is not one of {allowed}") from None
        return result


def parse_profile(raw: Mapping[str, Any], source: str) -> CommodityProfile:
    """The profile in ``raw`` (a TOML file's mapping); ``source`` names the file in errors.

    Raises ConfigError naming file and key for an unknown or missing key, a value not
    on its closed list, an element that is not an element symbol, a threshold that is
    not a number in 0..1, or a duplicate outcome id.
    """
    r = _Reader(source)
    r.keys(raw, _PROFILE_KEYS, "")
    elements = r.texts(raw, "elements")
    if not elements:
        raise r.fail("elements", "must name at least one element")
    for symbol in elements:
        if not is_element_symbol(symbol):
            raise r.fail("elements", f"{symbol!r} is not an element symbol")
    audits = r.texts(raw, "recognised_audits")
    if not audits:
        raise r.fail("recognised_audits", "must name at least one audit standard")
    outcomes = raw["outcomes"]
    if not isinstance(outcomes, list) or not outcomes:
        raise r.fail("outcomes", "must be a non-empty array of tables [[outcomes]]")
    parsed = [_outcome(r, item, index) for index, item in enumerate(outcomes)]
    ids = [o.id for o in parsed]
    for index, outcome_id in enumerate(ids):
        if outcome_id in ids[:index]:
            raise r.fail(f"outcomes[{index}].id", f"{outcome_id!r} is used twice")
    return CommodityProfile(
        commodity=r.text(raw, "commodity"),
        name=r.text(raw, "name"),
        elements=tuple(elements),
        oecd_annex_ii=tuple(r.members(raw, "oecd_annex_ii", AnnexIICategory)),
        eu_annex_x=tuple(r.members(raw, "eu_annex_x", AnnexXCategory)),
        recognised_audits=frozenset(a.upper() for a in audits),
        red_flags=frozenset(r.members(raw, "red_flags", RedFlag)),
        outcomes=tuple(parsed),
    )


def _outcome(r: _Reader, raw: object, index: int) -> DefinedOutcome:
    where = f"outcomes[{index}]."
    if not isinstance(raw, Mapping):
        raise r.fail(f"outcomes[{index}]", "must be a table")
    r.keys(raw, _OUTCOME_KEYS, where)
    kind_text = r.text(raw, "kind", where)
    try:
        kind = OutcomeKind(kind_text)
    except ValueError:
        allowed = ", ".join(k.value for k in OutcomeKind)
        raise r.fail(f"{where}kind", f"{kind_text!r} is not one of {allowed}") from None
    threshold = raw["threshold"]
    if not is_number(threshold) or not 0.0 <= threshold <= 1.0:
        raise r.fail(
            f"{where}threshold",
            f"{threshold!r} is out of range: a share between 0 and 1 (0.95 is 95 %)",
        )
    return DefinedOutcome(
        id=r.text(raw, "id", where),
        kind=kind,
        threshold=float(threshold),
        statement=r.text(raw, "statement", where),
    )


def profiles_for(
    profiles: Sequence[CommodityProfile], elements: Sequence[str]
) -> list[CommodityProfile]:
    """The profiles that apply to a trace: those naming an element the trace attributes."""
    return [p for p in profiles if set(p.elements) & set(elements)]
