"""Risk flags computed over a traced lot graph, each with its evidence and the share it concerns.

Besides the flags, :func:`unchecked` lists every check that could not be made on a
lot (a figure withheld or missing, a unit not understood) with the reason, so no
check is skipped without a word (DESIGN.md, "Trace semantics").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from oretrail.domain.attribution import Attribution
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Activity, Custody, Role

__all__ = [
    "AUDIT_STANDARDS",
    "Check",
    "Risk",
    "RiskKind",
    "RiskPolicy",
    "Unchecked",
    "allocation_only",
    "assess_risks",
    "audit_problem",
    "mass_balance_shortfall",
    "needs_audit",
    "unchecked",
]

# Audit schemes that count as a third-party audit of a smelter, refiner or processor.
AUDIT_STANDARDS = frozenset(
    {"RMAP", "IRMA", "JDDS", "RMI-RRA", "LME-RESPONSIBLE-SOURCING", "COPPER-MARK"}
)

# Roles that imply chemical processing when a facility's activities are not shown.
_PROCESSOR_ROLES = frozenset({Role.SMELTER, Role.REFINER, Role.RECYCLER})

# Verification outcomes of an audit credential that make it no audit, and what they mean.
_REFUSED_VERIFICATIONS = {
    "FORGED": "does not verify: forged or altered",
    "REVOKED": "was revoked by its issuer",
    "UNKNOWN_ISSUER": "is not issued by a registered auditor",
    "STATUS_UNKNOWN": "has a revocation status that could not be read",
}

# Custody models behind which origin shares are allocations, not physical content.
_ALLOCATION_MODELS = frozenset({Custody.MASS_BALANCE, Custody.BOOK_AND_CLAIM})


class RiskKind(StrEnum):
    CAHRA_ORIGIN = "CAHRA_ORIGIN"
    CAHRA_TRANSIT = "CAHRA_TRANSIT"
    ASM_ORIGIN = "ASM_ORIGIN"
    UNAUDITED_PROCESSOR = "UNAUDITED_PROCESSOR"
    WEAK_CUSTODY = "WEAK_CUSTODY"
    MASS_BALANCE = "MASS_BALANCE"
    OVER_ALLOCATION = "OVER_ALLOCATION"
    LOW_COVERAGE = "LOW_COVERAGE"


class Check(StrEnum):
    """A check the trace makes on each lot, and may be unable to make."""

    MASS_BALANCE = "MASS_BALANCE"
    AUDIT = "AUDIT"
    CAHRA_TRANSIT = "CAHRA_TRANSIT"
    OVER_ALLOCATION = "OVER_ALLOCATION"


@dataclass(frozen=True, slots=True)
class Risk:
    """A flag, the lot it is about, the evidence, and the share of the root it concerns."""

    kind: RiskKind
    lot: str | None
    owner: str | None
    evidence: str
    shares: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A check that could not be made on a lot, and why."""

    check: Check
    lot: str
    owner: str
    reason: str


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
    """Every risk flag of a trace: origins, transit, processors, balances, allocation, coverage."""
    risks: list[Risk] = []
    origins = {o.lot for o in attribution.origins}
    for origin in attribution.origins:
        lot = graph.lots[origin.lot]
        facility = lot.facility
        takes = _shares_text(origin.shares, origin.approximate)
        if facility is not None:
            if facility.cahra or (facility.country, facility.region) in policy.cahra_regions:
                risks.append(
                    Risk(
                        RiskKind.CAHRA_ORIGIN,
                        lot.id,
                        lot.owner,
                        f"origin facility {facility.name} is in {facility.region}, "
                        f"{facility.country}, a conflict-affected or high-risk area; "
                        f"the product takes {takes} from it",
                        dict(origin.shares),
                    )
                )
            if facility.artisanal:
                risks.append(
                    Risk(
                        RiskKind.ASM_ORIGIN,
                        lot.id,
                        lot.owner,
                        f"origin facility {facility.name} is artisanal and small-scale mining; "
                        f"the product takes {takes} from it",
                        dict(origin.shares),
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
                    dict(origin.shares),
                )
            )

    for lot in graph.lots.values():
        through = attribution.through.get(lot.id, {})
        risks.extend(_transit_risks(lot, lot.id in origins, through, policy))
        if needs_audit(lot, roles.get(lot.owner, ())) and "certificates" not in lot.withheld:
            evidence = audit_problem(lot, lot.produced_at or policy.as_of)
            if evidence is not None:
                if lot.produced_at is None:
                    evidence += f" (production date not shown; judged on {policy.as_of})"
                risks.append(
                    Risk(RiskKind.UNAUDITED_PROCESSOR, lot.id, lot.owner, evidence, dict(through))
                )
        shortfall = mass_balance_shortfall(graph, lot, policy.mass_balance_tolerance)
        if shortfall:
            risks.append(Risk(RiskKind.MASS_BALANCE, lot.id, lot.owner, shortfall, dict(through)))

    risks.extend(_over_allocations(graph, attribution))

    for element, coverage in attribution.coverage.items():
        if coverage < policy.min_coverage:
            risks.append(
                Risk(
                    RiskKind.LOW_COVERAGE,
                    None,
                    None,
                    f"only {coverage:.1%} of the product's {element} is traced to identified "
                    f"origins (threshold {policy.min_coverage:.0%})",
                    {element: 1.0 - coverage},
                )
            )
    return risks


def _transit_risks(
    lot: TracedLot, is_origin: bool, through: Mapping[str, float], policy: RiskPolicy
) -> list[Risk]:
    """Material passed through a CAHRA: a facility on the path, or a shipment's transit point.

    An origin's own site is its CAHRA_ORIGIN flag; its shipments' routes still count.
    """
    risks = []
    facility = lot.facility
    if (
        facility is not None
        and not is_origin
        and "origin" not in lot.withheld
        and (facility.cahra or (facility.country, facility.region) in policy.cahra_regions)
    ):
        risks.append(
            Risk(
                RiskKind.CAHRA_TRANSIT,
                lot.id,
                lot.owner,
                f"material passed through {facility.name} in {facility.region}, "
                f"{facility.country}, a conflict-affected or high-risk area; "
                f"it concerns {_shares_text(through)} of the product",
                dict(through),
            )
        )
    for point in lot.transit or ():
        if (point.country, point.region) in policy.cahra_regions:
            risks.append(
                Risk(
                    RiskKind.CAHRA_TRANSIT,
                    lot.id,
                    lot.owner,
                    f"shipments of this {lot.material} lot passed through {point.region}, "
                    f"{point.country}, a conflict-affected or high-risk area; "
                    f"it concerns {_shares_text(through)} of the product",
                    dict(through),
                )
            )
    return risks


def needs_audit(lot: TracedLot, owner_roles: Collection[Role]) -> bool:
    """Whether the lot was made at a facility that smelts, refines or chemically processes.

    Decided by the facility's declared activities (a recycler's refining included);
    where they are not shown, by the owner's registered roles.
    """
    activities = lot.facility.activities if lot.facility is not None else None
    if activities is not None and "origin" not in lot.withheld:
        return Activity.PROCESSING_REFINING in activities
    return bool(_PROCESSOR_ROLES & set(owner_roles))


def audit_problem(lot: TracedLot, as_of: date) -> str | None:
    """None if the lot's facility or owner holds a valid third-party audit on ``as_of``
    (the lot's production date in a trace)."""
    presented = [
        c
        for c in lot.certificates
        if c.standard.upper() in AUDIT_STANDARDS and c.issuer != lot.owner
    ]
    # A credential that failed verification is no audit at all; a plain record
    # (UNVERIFIED) still counts, as it did before credentials existed.
    audits = [c for c in presented if c.verification not in _REFUSED_VERIFICATIONS]
    if any(c.valid_on(as_of) for c in audits):
        return None
    where = lot.facility.name if lot.facility else lot.owner
    if not audits and presented:
        c = presented[0]
        return (
            f"{where}: {c.standard} audit credential {c.id} "
            f"{_REFUSED_VERIFICATIONS[c.verification]} ({c.verification})"
        )
    if not audits:
        return f"{where} processes material on this path without any third-party audit"
    latest = max(audits, key=lambda c: c.valid_to)
    if latest.status != "ACTIVE":
        return f"{where}: {latest.standard} audit {latest.id} is {latest.status.lower()}"
    if latest.valid_from > as_of:
        return (
            f"{where}: {latest.standard} audit {latest.id} is valid only from "
            f"{latest.valid_from}, after the lot's production on {as_of}"
        )
    credential = " credential" if latest.verification == "EXPIRED" else ""
    status = " (EXPIRED)" if latest.verification == "EXPIRED" else ""
    return (
        f"{where}: {latest.standard} audit{credential} {latest.id} expired on "
        f"{latest.valid_to}, before the lot's production on {as_of}{status}"
    )


def mass_balance_shortfall(graph: LotGraph, lot: TracedLot, tolerance: float) -> str | None:
    """Evidence if the lot claims more of an element than its inputs could supply."""
    if _balance_unjudged(graph, lot) is not None or not lot.inputs:
        return None
    assert lot.contents is not None
    assert lot.quantity_kg is not None
    supplied: dict[str, float] = defaultdict(float)
    for link in lot.inputs:
        source = graph.lots[link.lot]
        assert source.contents is not None
        assert link.kilograms is not None
        for element, fraction in source.contents.items():
            supplied[element] += link.kilograms * fraction
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


def _balance_unjudged(graph: LotGraph, lot: TracedLot) -> str | None:
    """Why the lot's mass balance cannot be judged, or None when it can."""
    if "inputs" in lot.withheld:
        return "its inputs are withheld"
    if not lot.inputs:
        return None
    if lot.quantity_kg is None:
        if "quantities" in lot.withheld:
            return "its quantity is withheld"
        return "its quantity is missing or not in a mass unit understood (kg, t)"
    if lot.contents is None:
        if "contents" in lot.withheld:
            return "its contents are withheld"
        return "it declares no element contents"
    for link in lot.inputs:
        if link.kilograms is None:
            return f"the quantity it consumed of input {link.lot} is withheld or not a mass"
        source = graph.lots.get(link.lot)
        if source is None:
            unopened = graph.unopened.get(link.lot)
            why = unopened.reason.value if unopened else "not answered"
            return f"input {link.lot} could not be opened ({why})"
        if source.contents is None:
            shown = "withheld" if "contents" in source.withheld else "not declared"
            return f"the contents of input {link.lot} are {shown}"
    return None


def unchecked(
    graph: LotGraph, roles: Mapping[str, Collection[Role]], policy: RiskPolicy
) -> list[Unchecked]:
    """Every check that could not be made on an opened lot of the trace, with the reason."""
    result = []
    consumed = {link.lot for _, link in graph.edges()}
    for lot in sorted(graph.lots.values(), key=lambda item: item.id):
        why = _balance_unjudged(graph, lot)
        if why is not None:
            result.append(Unchecked(Check.MASS_BALANCE, lot.id, lot.owner, why))
        if needs_audit(lot, roles.get(lot.owner, ())) and "certificates" in lot.withheld:
            result.append(
                Unchecked(
                    Check.AUDIT, lot.id, lot.owner, "its facility's certificates are withheld"
                )
            )
        if "origin" in lot.withheld:
            result.append(
                Unchecked(
                    Check.CAHRA_TRANSIT,
                    lot.id,
                    lot.owner,
                    "its facility's location and its shipments' transit points are withheld",
                )
            )
        if lot.quantity_kg is None and lot.id in consumed:
            result.append(
                Unchecked(
                    Check.OVER_ALLOCATION,
                    lot.id,
                    lot.owner,
                    "its quantity is withheld or not in a mass unit understood (kg, t)",
                )
            )
    return result


def _over_allocations(graph: LotGraph, attribution: Attribution) -> list[Risk]:
    """Lots consumed beyond their quantity by the links this trace saw; links add up."""
    consumed: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for consumer, link in graph.edges():
        if link.kilograms is not None:
            consumed[link.lot].append((consumer, link.kilograms))
    risks = []
    for lot_id, uses in sorted(consumed.items()):
        lot = graph.lots.get(lot_id)
        if lot is None or lot.quantity_kg is None:
            continue
        total = sum(kg for _, kg in uses)
        if total > lot.quantity_kg * (1 + 1e-9):
            by = ", ".join(f"{kg:,.0f} kg by {consumer}" for consumer, kg in uses)
            risks.append(
                Risk(
                    RiskKind.OVER_ALLOCATION,
                    lot_id,
                    lot.owner,
                    f"{lot.material} lot holds {lot.quantity_kg:,.0f} kg but the links seen "
                    f"in this trace consume {total:,.0f} kg ({by})",
                    dict(attribution.through.get(lot_id, {})),
                )
            )
    return risks


def allocation_only(attribution: Attribution) -> bool:
    """Whether any origin's path passes a mass-balance or book-and-claim step: then its
    shares are allocations, not physical content."""
    return any(o.custody in _ALLOCATION_MODELS for o in attribution.origins)


def _shares_text(shares: Mapping[str, float], approximate: Collection[str] = ()) -> str:
    parts = [
        f"{'about ' if element in approximate else ''}{share:.1%} of its {element}"
        for element, share in sorted(shares.items())
        if share > 0
    ]
    return ", ".join(parts) if parts else "none of the tracked elements"
