"""Risk flags computed over a traced lot graph, each with the evidence behind it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from oretrail.domain.attribution import Attribution
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Custody, Role

__all__ = [
    "Risk",
    "RiskKind",
    "RiskPolicy",
    "assess_risks",
    "audit_problem",
    "mass_balance_shortfall",
]

# Audit schemes that count as a third-party audit of a smelter or refiner.
AUDIT_STANDARDS = frozenset({"RMAP", "IRMA", "JDDS", "RMI-RRA", "LME-RESPONSIBLE-SOURCING"})


class RiskKind(StrEnum):
    CAHRA_ORIGIN = "CAHRA_ORIGIN"
    ASM_ORIGIN = "ASM_ORIGIN"
    UNAUDITED_PROCESSOR = "UNAUDITED_PROCESSOR"
    WEAK_CUSTODY = "WEAK_CUSTODY"
    MASS_BALANCE = "MASS_BALANCE"
    LOW_COVERAGE = "LOW_COVERAGE"


@dataclass(frozen=True, slots=True)
class Risk:
    kind: RiskKind
    lot: str | None
    owner: str | None
    evidence: str


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """The thresholds and lists a risk assessment uses."""

    as_of: date
    # (country, region) pairs on the conflict-affected and high-risk areas list.
    cahra_regions: Collection[tuple[str, str]] = ()
    required_custody: Custody | None = None
    mass_balance_tolerance: float = 0.02
    min_coverage: float = 0.95


def assess_risks(
    graph: LotGraph,
    attribution: Attribution,
    roles: Mapping[str, Collection[Role]],
    policy: RiskPolicy,
) -> list[Risk]:
    """Every risk flag of a trace, origins first, then processors, balances, coverage."""
    risks: list[Risk] = []
    for origin in attribution.origins:
        lot = graph.lots[origin.lot]
        facility = lot.facility
        if facility is not None:
            listed = (facility.country, facility.region) in policy.cahra_regions
            if facility.cahra or listed:
                risks.append(
                    Risk(
                        RiskKind.CAHRA_ORIGIN,
                        lot.id,
                        lot.owner,
                        f"origin facility {facility.name} is in {facility.region}, "
                        f"{facility.country}, a conflict-affected or high-risk area; "
                        f"the product takes {_shares_text(origin.shares)} from it",
                    )
                )
            if facility.artisanal:
                risks.append(
                    Risk(
                        RiskKind.ASM_ORIGIN,
                        lot.id,
                        lot.owner,
                        f"origin facility {facility.name} is artisanal and small-scale mining; "
                        f"the product takes {_shares_text(origin.shares)} from it",
                    )
                )
        if (
            policy.required_custody is not None
            and origin.custody is not None
            and origin.custody.strength < policy.required_custody.strength
        ):
            risks.append(
                Risk(
                    RiskKind.WEAK_CUSTODY,
                    lot.id,
                    lot.owner,
                    f"weakest custody on the path from this origin is {origin.custody}, "
                    f"weaker than the required {policy.required_custody}",
                )
            )

    for lot in graph.lots.values():
        owner_roles = roles.get(lot.owner, ())
        # Only processing (a lot made from inputs) needs the processor audit; a
        # smelter that also mines is not flagged for its ore.
        if lot.inputs and (Role.SMELTER in owner_roles or Role.REFINER in owner_roles):
            evidence = audit_problem(lot, policy.as_of)
            if evidence is not None:
                risks.append(Risk(RiskKind.UNAUDITED_PROCESSOR, lot.id, lot.owner, evidence))
        shortfall = mass_balance_shortfall(graph, lot, policy.mass_balance_tolerance)
        if shortfall:
            risks.append(Risk(RiskKind.MASS_BALANCE, lot.id, lot.owner, shortfall))

    for element, coverage in attribution.coverage.items():
        if coverage < policy.min_coverage:
            risks.append(
                Risk(
                    RiskKind.LOW_COVERAGE,
                    None,
                    None,
                    f"only {coverage:.1%} of the product's {element} is traced to identified "
                    f"origins (threshold {policy.min_coverage:.0%})",
                )
            )
    return risks


def audit_problem(lot: TracedLot, as_of: date) -> str | None:
    """None if the lot's facility or owner holds a valid third-party audit on ``as_of``."""
    audits = [
        c
        for c in lot.certificates
        if c.standard.upper() in AUDIT_STANDARDS and c.issuer != lot.owner
    ]
    if any(c.valid_on(as_of) for c in audits):
        return None
    where = lot.facility.name if lot.facility else lot.owner
    if not audits:
        return f"{where} processes material on this path without any third-party audit"
    latest = max(audits, key=lambda c: c.valid_to)
    if latest.status != "ACTIVE":
        return f"{where}: {latest.standard} audit {latest.id} is {latest.status.lower()}"
    if latest.valid_from > as_of:
        return (
            f"{where}: {latest.standard} audit {latest.id} is valid only from {latest.valid_from}"
        )
    return f"{where}: {latest.standard} audit {latest.id} expired on {latest.valid_to}"


def mass_balance_shortfall(graph: LotGraph, lot: TracedLot, tolerance: float) -> str | None:
    """Evidence if the lot claims more of an element than its inputs could supply."""
    if not lot.inputs or lot.contents is None or lot.quantity_kg is None:
        return None
    supplied: dict[str, float] = {}
    for link in lot.inputs:
        source = graph.lots.get(link.lot)
        if source is None or source.contents is None or link.kilograms is None:
            return None  # an input we cannot see could hold the difference
        for element, fraction in source.contents.items():
            supplied[element] = supplied.get(element, 0.0) + link.kilograms * fraction
    problems = []
    for element, fraction in sorted(lot.contents.items()):
        claimed = lot.quantity_kg * fraction
        available = supplied.get(element, 0.0)
        if claimed > available * (1 + tolerance) + 1e-9:
            problems.append(
                f"{element}: claims {claimed:,.0f} kg but its inputs supply at most "
                f"{available:,.0f} kg"
            )
    if not problems:
        return None
    return f"{lot.material} lot cannot be made from its inputs: " + "; ".join(problems)


def _shares_text(shares: Mapping[str, float]) -> str:
    parts = [
        f"{share:.1%} of its {element}" for element, share in sorted(shares.items()) if share > 0
    ]
    return ", ".join(parts) if parts else "none of the tracked elements"
