"""Typed results of the gateway's operations, as :class:`oretrail.client.GatewayClient`
returns them. Each is read from the gateway's JSON answer; ``raw`` keeps that answer.

Shares, fractions and coverage run from 0 to 1; masses are in kilograms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oretrail.verify import Verification

__all__ = [
    "Exposure",
    "Gap",
    "Origin",
    "Participant",
    "Risk",
    "Trace",
    "TraceRecord",
]


def _shares(items: Any) -> dict[str, float]:
    return {s["element"]: float(s["share"]) for s in items or ()}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where part of the product's elements came from: a lot at an extraction or
    scrap-collection site, and the share of each element it supplies."""

    lot: str
    owner: str
    material: str
    shares: dict[str, float]
    facility: str | None = None  # the facility's name; None when withheld
    country: str | None = None  # ISO 3166-1 alpha-2
    artisanal: bool = False
    cahra: bool = False


@dataclass(frozen=True, slots=True)
class Gap:
    """A part of the trace that could not be followed, and the share behind it."""

    lot: str
    owner: str
    reason: str  # WITHHELD, UNREACHABLE, TIMEOUT, UNSUPPORTED_CLAIM... (GapReason)
    detail: str
    shares: dict[str, float]


@dataclass(frozen=True, slots=True)
class Risk:
    """A risk flag and its evidence (RiskKind: CAHRA_ORIGIN, ASM_ORIGIN, MASS_BALANCE...)."""

    kind: str
    lot: str | None
    owner: str | None
    evidence: str
    shares: dict[str, float]


@dataclass(frozen=True, slots=True)
class Trace:
    """A finished upstream trace of ``root``."""

    root: str
    as_of: date
    max_depth: int
    elements: tuple[str, ...]
    origins: tuple[Origin, ...]
    coverage: dict[str, float]  # element -> fraction traced to origins
    gaps: tuple[Gap, ...]
    risks: tuple[Risk, ...]
    raw: Mapping[str, Any] = field(repr=False)
    # When the trace was asked with its evidence: what checking it found (oretrail.verify).
    verification: Verification | None = field(default=None, repr=False)

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> Trace:
        return cls(
            root=answer["root"],
            as_of=date.fromisoformat(answer["asOf"]),
            max_depth=int(answer["maxDepth"]),
            elements=tuple(answer["elements"]),
            origins=tuple(
                Origin(
                    lot=o["lot"],
                    owner=o["owner"],
                    material=o["material"],
                    shares=_shares(o["shares"]),
                    facility=(o.get("facility") or {}).get("name"),
                    country=(o.get("facility") or {}).get("country"),
                    artisanal=bool((o.get("facility") or {}).get("artisanal")),
                    cahra=bool((o.get("facility") or {}).get("cahra")),
                )
                for o in answer["origins"]
            ),
            coverage={c["element"]: float(c["coverage"]) for c in answer["coverage"]},
            gaps=tuple(
                Gap(g["lot"], g["owner"], g["reason"], g["detail"], _shares(g["shares"]))
                for g in answer["gaps"]
            ),
            risks=tuple(
                Risk(r["kind"], r["lot"], r["owner"], r["evidence"], _shares(r["shares"]))
                for r in answer["risks"]
            ),
            raw=answer,
        )


@dataclass(frozen=True, slots=True)
class Exposure:
    """A downstream trace: the products holding material from the start lots."""

    start: tuple[str, ...]
    products: tuple[str, ...]
    reached: tuple[str, ...]
    gaps: tuple[tuple[str, str], ...]  # (lot, reason)

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> Exposure:
        return cls(
            start=tuple(answer["start"]),
            products=tuple(answer["products"]),
            reached=tuple(answer["reached"]),
            gaps=tuple((g["lot"], g["reason"]) for g in answer["gaps"]),
        )


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """A trace as the gateway's history recorded it."""

    id: str
    root: str
    as_of: date
    coverage: dict[str, float]
    gaps: int

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> TraceRecord:
        return cls(
            id=answer["id"],
            root=answer["root"],
            as_of=date.fromisoformat(answer["asOf"]),
            coverage={c["element"]: float(c["coverage"]) for c in answer["coverage"]},
            gaps=int(answer["gaps"]),
        )


@dataclass(frozen=True, slots=True)
class Participant:
    """An organisation of the consortium."""

    id: str
    name: str
    roles: tuple[str, ...]
    country: str


@dataclass(frozen=True, slots=True)
class PublishedGroup:
    name: str
    share: float  # from 0 to 1


@dataclass(frozen=True, slots=True)
class TransparencyAnswer:
    """The published answer of an approved query for a closed reporting period: only
    groups that pass the threshold, dominance and complement rules, no counts."""

    period_start: date
    period_end: date
    k: int
    dominance: float  # from 0 to 1
    answered_at: datetime
    groups: tuple[PublishedGroup, ...]

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> TransparencyAnswer:
        return cls(
            period_start=date.fromisoformat(answer["period"]["start"]),
            period_end=date.fromisoformat(answer["period"]["end"]),
            k=int(answer["k"]),
            dominance=float(answer["dominance"]),
            answered_at=datetime.fromisoformat(answer["answeredAt"]),
            groups=tuple(PublishedGroup(g["name"], float(g["share"])) for g in answer["groups"]),
        )
