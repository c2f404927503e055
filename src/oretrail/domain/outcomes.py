"""Defined outcomes per trace: MET, NOT_MET or UNKNOWN, with figure, threshold and evidence.

For each commodity profile that applies to a trace (one naming an element the
trace attributes) and each of the profile's elements in the trace, every defined
outcome is judged from the trace's own figures:

- COVERAGE: the element's coverage (share traced to identified origins).
- AUDITED_PROCESSORS: the share of the element that reached identified origins
  passing only through smelters, refiners and processors holding an audit the
  profile recognises, valid on the lot's production date. A processor that presents
  audit credentials is judged by them alone: one that passed its check counts, a
  plain record beside them does not, and one that failed is no audit.
- RED_FLAGS_MANAGED: the share under a red flag of the profile (CAHRA origin or
  transit, artisanal origin) that no risk-management record manages.
- RECYCLED_CONTENT: the share from recycled origins, pre- plus post-consumer
  (EU 2023/1542 Article 8 counts both).

"Share behind a set of lots" is computed exactly, with the attribution rules
themselves: the trace's graph is cut at those lots (their inputs dropped and their
facility made neither a mine nor a collection point) and attributed again, so the
share that ends at them is the union over every path, counted once.

A figure is UNKNOWN-aware: the share the trace could not follow (gaps) may hold
anything, so an outcome is MET only if it holds whatever the gaps hide, NOT_MET only
if it fails whatever they hide, and UNKNOWN otherwise. Flags are never removed by a
record: each finding lists the records that manage it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from oretrail.domain.attribution import Attribution, attribute
from oretrail.domain.commodities import CommodityProfile, DefinedOutcome, OutcomeKind, RedFlag
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Role
from oretrail.domain.risk_management import RiskRecord
from oretrail.domain.risks import Risk, RiskKind, Unchecked, allocation_only, needs_audit

__all__ = [
    "AuditStatus",
    "Finding",
    "OutcomeResult",
    "OutcomeState",
    "ProfileAssessment",
    "TraceFigures",
    "assess_profile",
    "audit_status",
]

# Shares below this are rounding, not material.
_EPSILON = 1e-9

# The trace's flags that are red flags of a profile.
_ORIGIN_FLAGS = {
    RiskKind.CAHRA_ORIGIN: RedFlag.CAHRA_ORIGIN,
    RiskKind.CAHRA_TRANSIT: RedFlag.CAHRA_TRANSIT,
    RiskKind.ASM_ORIGIN: RedFlag.ASM_ORIGIN,
}


class OutcomeState(StrEnum):
    MET = "MET"
    NOT_MET = "NOT_MET"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    """One defined outcome judged for one element.

    ``figure`` is the measured share (coverage, audited share, unmanaged red-flag share
    or recycled share), ``unknown`` the share the trace could not follow that could
    change the verdict, ``concerned`` the share the shortfall concerns (not covered,
    not audited, unmanaged, recycled), ``evidence`` the lots and figures behind it.
    """

    outcome: DefinedOutcome
    commodity: str
    element: str
    state: OutcomeState
    figure: float
    threshold: float
    concerned: float
    unknown: float
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """A red flag of a profile on a trace, the shares of its elements, and its records."""

    flag: RedFlag
    lot: str | None
    owner: str | None
    evidence: str
    shares: Mapping[str, float]
    records: tuple[RiskRecord, ...]

    @property
    def managed(self) -> bool:
        return bool(self.records)


@dataclass(frozen=True, slots=True)
class AuditStatus:
    """A processor's audit as the profile judges it on the lot's production date."""

    lot: str
    owner: str
    facility: str
    recognised: bool
    standard: str | None
    certificate: str | None
    # Plain certificate records come from the owner's node unsigned by the auditor;
    # they are reported as such until audit credentials can be verified.
    verification: str
    detail: str


@dataclass(frozen=True, slots=True)
class TraceFigures:
    """What a finished trace established: the lot graph, its attribution, flags and the
    checks it could not make, the owners' roles, the mass-balance tolerance and as-of day."""

    graph: LotGraph
    attribution: Attribution
    risks: Sequence[Risk]
    roles: Mapping[str, Collection[Role]]
    unchecked: Sequence[Unchecked] = ()
    tolerance: float = 0.02
    as_of: date | None = None


@dataclass(frozen=True, slots=True)
class ProfileAssessment:
    """A profile applied to one trace: the elements judged, findings, audits, outcomes."""

    profile: CommodityProfile
    elements: tuple[str, ...]
    findings: tuple[Finding, ...]
    audits: tuple[AuditStatus, ...]
    outcomes: tuple[OutcomeResult, ...]
    allocation_only: bool


def assess_profile(
    profile: CommodityProfile, trace: TraceFigures, records: Iterable[RiskRecord] = ()
) -> ProfileAssessment | None:
    """Judge ``profile`` on a trace; None when the trace attributes none of its elements.

    ``records`` are the tracing organisation's risk-management records; a record
    matching a flag's kind and lot marks it managed, and the flag stays listed.
    """
    attribution = trace.attribution
    elements = tuple(e for e in profile.elements if e in attribution.elements)
    if not elements:
        return None
    kept = list(records)
    findings: list[Finding] = []
    for risk in trace.risks:
        red = _ORIGIN_FLAGS.get(risk.kind)
        if red is None or red not in profile.red_flags:
            continue
        shares = {e: risk.shares.get(e, 0.0) for e in elements}
        if max(shares.values()) <= _EPSILON:
            continue
        matching = tuple(r for r in kept if r.concerns(red.value, risk.lot))
        findings.append(Finding(red, risk.lot, risk.owner, risk.evidence, shares, matching))

    audits = _audits(profile, trace, elements)
    unrecognised = [a for a in audits if not a.recognised]
    if RedFlag.UNRECOGNISED_AUDIT in profile.red_flags:
        for audit in unrecognised:
            shares = {e: attribution.through.get(audit.lot, {}).get(e, 0.0) for e in elements}
            flag = RedFlag.UNRECOGNISED_AUDIT
            matching = tuple(r for r in kept if r.concerns(flag.value, audit.lot))
            findings.append(Finding(flag, audit.lot, audit.owner, audit.detail, shares, matching))

    unmanaged_lots = {
        f.lot
        for f in findings
        if f.flag is not RedFlag.UNRECOGNISED_AUDIT and not f.managed and f.lot is not None
    }
    judge = _Judge(
        profile,
        trace,
        findings,
        unrecognised,
        _share_behind(trace, {a.lot for a in unrecognised}),
        _share_behind(trace, unmanaged_lots),
    )
    results = [judge.outcome(o, e) for o in profile.outcomes for e in elements]
    return ProfileAssessment(
        profile, elements, tuple(findings), tuple(audits), tuple(results),
        allocation_only(attribution),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Judge:
    profile: CommodityProfile
    trace: TraceFigures
    findings: Sequence[Finding]
    unrecognised: Sequence[AuditStatus]
    behind_unaudited: _Behind
    behind_unmanaged: _Behind

    def outcome(self, outcome: DefinedOutcome, element: str) -> OutcomeResult:
        attribution = self.trace.attribution
        coverage = attribution.coverage.get(element, 0.0)
        unknown = 1.0 - coverage
        if outcome.kind is OutcomeKind.COVERAGE:
            figure, concerned, open_share = coverage, unknown, 0.0
            evidence = [
                f"{g.reason} at {g.lot} ({g.owner}): {g.shares[element]:.2%} of the {element}"
                for g in attribution.gaps
                if g.shares.get(element, 0.0) > _EPSILON
            ]
        elif outcome.kind is OutcomeKind.AUDITED_PROCESSORS:
            concerned = self.behind_unaudited.total(element)
            figure = self.behind_unaudited.coverage.get(element, 0.0)
            open_share = max(0.0, 1.0 - figure - concerned)
            evidence = [
                f"{a.facility} ({a.owner}): {a.detail}; "
                f"{attribution.through.get(a.lot, {}).get(element, 0.0):.2%} of the "
                f"{element} passed it"
                for a in self.unrecognised
                if attribution.through.get(a.lot, {}).get(element, 0.0) > _EPSILON
            ]
        elif outcome.kind is OutcomeKind.RED_FLAGS_MANAGED:
            figure = concerned = self.behind_unmanaged.total(element)
            # Gaps may hide red-flag origins; a withheld location may hide a CAHRA.
            hidden = [u for u in self.trace.unchecked if u.check == "CAHRA_TRANSIT"]
            hidden_share = sum(attribution.through.get(u.lot, {}).get(element, 0.0) for u in hidden)
            open_share = min(1.0, unknown + hidden_share)
            evidence = [self._flag_text(f, element) for f in self.findings
                        if f.flag is not RedFlag.UNRECOGNISED_AUDIT
                        and f.shares.get(element, 0.0) > _EPSILON]  # fmt: skip
            evidence += [f"not checked: {u.lot}: {u.reason}" for u in hidden]
        else:
            figure, hidden_share = _recycled(self.trace, element)
            concerned, open_share = figure, min(1.0, unknown + hidden_share)
            evidence = [
                f"recycled origin {lot} ({kind}): {share:.2%} of the {element}"
                for lot, kind, share in _recycled_origins(self.trace, element)
            ]
            if allocation_only(attribution):
                evidence.append(
                    "a mass-balance or book-and-claim step lies on the path: recycled shares "
                    "are allocations, not physical content"
                )
        if open_share > _EPSILON and outcome.kind is not OutcomeKind.COVERAGE:
            evidence += [
                f"unknown behind {g.reason} at {g.lot} ({g.owner}): "
                f"{g.shares[element]:.2%} of the {element}"
                for g in attribution.gaps
                if g.shares.get(element, 0.0) > _EPSILON
            ]
        return OutcomeResult(
            outcome,
            self.profile.commodity,
            element,
            _state(outcome.kind.at_most, figure, outcome.threshold, open_share),
            figure,
            outcome.threshold,
            concerned,
            open_share,
            tuple(evidence or ["nothing on the trace concerns this outcome"]),
        )

    @staticmethod
    def _flag_text(finding: Finding, element: str) -> str:
        managed = (
            "managed: " + ", ".join(f"{r.decision} ({r.id})" for r in finding.records)
            if finding.managed
            else "no risk-management record"
        )
        share = finding.shares[element]
        return f"{finding.flag} at {finding.lot}: {share:.2%} of the {element}; {managed}"


def _state(at_most: bool, figure: float, threshold: float, open_share: float) -> OutcomeState:
    """MET whatever the open share hides, NOT_MET whatever it hides, else UNKNOWN."""
    if at_most:
        if figure > threshold + _EPSILON:
            return OutcomeState.NOT_MET
        if figure + open_share > threshold + _EPSILON:
            return OutcomeState.UNKNOWN
        return OutcomeState.MET
    if figure + _EPSILON >= threshold:
        return OutcomeState.MET
    if figure + open_share + _EPSILON < threshold:
        return OutcomeState.NOT_MET
    return OutcomeState.UNKNOWN


@dataclass(frozen=True, slots=True)
class _Behind:
    """A graph cut at some lots: the share ending at each (the first of them on its path,
    so the values add up to the union) and the coverage left without passing any."""

    at: Mapping[str, Mapping[str, float]]
    coverage: Mapping[str, float]

    def total(self, element: str) -> float:
        return sum(shares.get(element, 0.0) for shares in self.at.values())


def _share_behind(trace: TraceFigures, lots: Collection[str]) -> _Behind:
    """Cut the graph at ``lots`` and attribute again (module docstring)."""
    graph, attribution = trace.graph, trace.attribution
    cut = {lot_id for lot_id in lots if lot_id in graph.lots}
    if not cut:
        return _Behind({}, dict(attribution.coverage))
    lots_cut = dict(graph.lots)
    for lot_id in cut:
        lots_cut[lot_id] = _dead_end(graph.lots[lot_id])
    cut_graph = LotGraph(root=graph.root, lots=lots_cut, unopened=dict(graph.unopened))
    result = attribute(cut_graph, trace.tolerance)
    behind: dict[str, dict[str, float]] = {lot_id: {} for lot_id in cut}
    for gap in result.gaps:
        if gap.lot in cut:
            for element, share in gap.shares.items():
                behind[gap.lot][element] = behind[gap.lot].get(element, 0.0) + share
    return _Behind(behind, result.coverage)


def _dead_end(lot: TracedLot) -> TracedLot:
    """The lot with no inputs at a facility that neither mines nor collects scrap: the
    attribution leaves its whole share in a gap at it."""
    facility = lot.facility
    if facility is not None:
        facility = replace(facility, activities=frozenset())
    return replace(lot, inputs=(), facility=facility, withheld=lot.withheld - {"origin", "inputs"})


def _audits(
    profile: CommodityProfile, trace: TraceFigures, elements: Sequence[str]
) -> list[AuditStatus]:
    """Every processor the profile's elements passed, with its audit as the profile sees it."""
    statuses = []
    for lot in sorted(trace.graph.lots.values(), key=lambda item: item.id):
        through = trace.attribution.through.get(lot.id, {})
        if not any(through.get(e, 0.0) > _EPSILON for e in elements):
            continue
        if not needs_audit(lot, trace.roles.get(lot.owner, ())):
            continue
        statuses.append(audit_status(profile, lot, lot.produced_at or trace.as_of))
    return statuses


def audit_status(profile: CommodityProfile, lot: TracedLot, day: date | None) -> AuditStatus:
    """The processor's audit judged on ``day`` (the lot's production date): recognised only
    if a third party (not the owner) issued an audit the profile lists, valid that day."""
    where = lot.facility.name if lot.facility is not None else lot.owner
    if "certificates" in lot.withheld:
        return AuditStatus(
            lot.id, lot.owner, where, False, None, None, "WITHHELD",
            "its certificates are withheld from the caller: no audit can be recognised",
        )  # fmt: skip
    audits = [
        c for c in lot.certificates if profile.recognises(c.standard) and c.issuer != lot.owner
    ]
    # Once a processor presents audit credentials, only a credential that passed its
    # check counts: a plain record beside them is reported, not recognised (issue 15),
    # and a credential that failed (revoked, forged, expired, unknown issuer, status
    # unknown) is no audit, whatever its record says.
    credentialed = [c for c in audits if c.verification != "UNVERIFIED"]
    failed = [c for c in credentialed if c.verification != "VALID"]
    if credentialed:
        audits = [c for c in credentialed if c.verification == "VALID"]
    valid = [c for c in audits if day is not None and c.valid_on(day)]
    if valid:
        # A verified credential first; a plain record is said to be one.
        best = max(valid, key=lambda c: (c.verification == "VALID", c.valid_to))
        verified = best.verification == "VALID"
        return AuditStatus(
            lot.id,
            lot.owner,
            where,
            True,
            best.standard,
            best.id,
            "VERIFIED_CREDENTIAL" if verified else "PLAIN_RECORD",
            f"{best.standard} {best.id} by {best.issuer}, valid {best.valid_from} to "
            f"{best.valid_to}"
            + (
                " (an audit credential, verified)"
                if verified
                else " (a plain certificate record, not a verified credential)"
            ),
        )
    if failed and not audits:
        worst = max(failed, key=lambda c: c.valid_to)
        detail = f"{worst.standard} {worst.id}: its audit credential failed ({worst.verification})"
        return AuditStatus(
            lot.id, lot.owner, where, False, worst.standard, worst.id, worst.verification, detail
        )
    others = sorted({c.standard for c in lot.certificates})
    if audits:
        latest = max(audits, key=lambda c: c.valid_to)
        detail = (
            f"{latest.standard} {latest.id} is {latest.status.lower()} and valid "
            f"{latest.valid_from} to {latest.valid_to}, not on the production date {day}"
        )
        return AuditStatus(
            lot.id, lot.owner, where, False, latest.standard, latest.id, "PLAIN_RECORD", detail
        )
    held = f" (it holds only {', '.join(others)})" if others else ""
    detail = f"no audit recognised for {profile.name.lower()}{held}"
    return AuditStatus(lot.id, lot.owner, where, False, None, None, "NONE", detail)


def _recycled_origins(trace: TraceFigures, element: str) -> list[tuple[str, str, float]]:
    """(origin lot, class, share of ``element``) for every recycled origin."""
    found = []
    for origin in trace.attribution.origins:
        lot = trace.graph.lots.get(origin.lot)
        share = origin.shares.get(element, 0.0)
        if lot is None or share <= _EPSILON:
            continue
        if lot.recycled_post_consumer:
            found.append((origin.lot, "post-consumer", share * lot.recycled_post_consumer))
        if lot.recycled_pre_consumer:
            found.append((origin.lot, "pre-consumer", share * lot.recycled_pre_consumer))
    return found


def _recycled(trace: TraceFigures, element: str) -> tuple[float, float]:
    """(recycled share of ``element``, share at origins whose recycled share is not shown)."""
    recycled = sum(share for _, _, share in _recycled_origins(trace, element))
    hidden = 0.0
    for origin in trace.attribution.origins:
        lot = trace.graph.lots.get(origin.lot)
        if lot is not None and (
            lot.recycled_post_consumer is None or lot.recycled_pre_consumer is None
        ):
            hidden += origin.shares.get(element, 0.0)
    return recycled, hidden
