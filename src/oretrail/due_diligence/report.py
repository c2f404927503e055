"""The due-diligence report of one product, as a JSON-ready document.

Built from a finished trace, the commodity profiles and the tracing organisation's
risk-management records (OECD DDG step 5; EU 2023/1542 Articles 48-52). Sections:

- ``supplyChain``: every lot of the trace by tier (0 is the product).
- ``smelterList``: each smelter, refiner or processor on the path, one row per metal
  and facility, in the columns of the RMI reporting templates' Smelter List tab
  (``SMELTER_LIST_TEMPLATE``), plus the audit standard and status.
- ``originByElement``: country of origin per element in kg and percent, recycled
  feed apart, and what is not known.
- ``recycledContent``: per element, pre- and post-consumer shares (Article 8 classes).
- ``profiles``: per commodity, its red flags with their records, audits, outcomes.
- ``risks``, ``gaps``, ``notChecked``: the trace's own flags and unknowns.

Figures are shares of the product's content of each element (0..1) and kilograms
computed from the product's declared quantity and contents.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from oretrail.config import Registry
from oretrail.domain.commodities import CommodityProfile
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Activity
from oretrail.domain.outcomes import ProfileAssessment, TraceFigures, assess_profile
from oretrail.domain.risk_management import RiskRecord
from oretrail.domain.risks import allocation_only
from oretrail.gateway.tracing import TraceReport

__all__ = ["SMELTER_LIST_COLUMNS", "SMELTER_LIST_TEMPLATE", "build_report"]

SMELTER_LIST_TEMPLATE = (
    "RMI Extended Minerals Reporting Template (EMRT) 2.1, Smelter List tab (cobalt, copper, "
    "natural graphite, lithium, nickel); rare earths belong to the RMI Additional Minerals "
    "Reporting Template (AMRT) 1.3. Source: "
    "https://www.responsiblemineralsinitiative.org/reporting-templates/emrt/"
)

# The Smelter List tab's columns, in order, then ours (after "Comments").
SMELTER_LIST_COLUMNS = (
    "Metal",
    "Smelter Look-up",
    "Smelter Name",
    "Smelter Country",
    "Smelter Identification",
    "Source of Smelter Identification Number",
    "Smelter Street",
    "Smelter City",
    "Smelter Facility Location: State / Province",
    "Smelter Contact Name",
    "Smelter Contact Email",
    "Proposed next steps",
    "Name of Mine(s) or if recycled or scrap sourced, enter 'recycled' or 'scrap'",
    "Location (Country) of Mine(s) or if recycled or scrap sourced, enter 'recycled' or 'scrap'",
    "Does 100% of the smelter's feedstock originate from recycled or scrap sources?",
    "Comments",
    "Audit Standard",
    "Audit Status",
    "Facility Id",
)

# The templates' metal names for each profile.
_METAL = {
    "cobalt": "Cobalt",
    "copper": "Copper",
    "lithium": "Lithium",
    "natural-graphite": "Graphite (natural)",
    "nickel": "Nickel",
    "rare-earths": "Rare Earth Elements",
}

# Country names as the templates spell them, for the countries oretrail's samples use;
# any other code is shown as the code.
_COUNTRIES = {
    "AU": "Australia", "BE": "Belgium", "CA": "Canada", "CD": "Congo, Democratic Republic of the",
    "CH": "Switzerland", "CL": "Chile", "CN": "China", "DE": "Germany", "EE": "Estonia",
    "FI": "Finland", "ID": "Indonesia", "LU": "Luxembourg", "MM": "Myanmar", "MY": "Malaysia",
    "MZ": "Mozambique", "NO": "Norway", "PE": "Peru", "SE": "Sweden", "TZ": "Tanzania",
    "US": "United States of America", "VN": "Viet Nam", "ZM": "Zambia",
}  # fmt: skip


def build_report(
    trace: TraceReport,
    *,
    registry: Registry,
    profiles: Sequence[CommodityProfile],
    records: Iterable[RiskRecord],
    organisation: str,
    tolerance: float,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """The report document of ``trace`` for ``organisation`` (the tracing member)."""
    graph, attribution = trace.graph, trace.attribution
    roles = registry.roles()
    figures = TraceFigures(
        graph, attribution, trace.risks, roles, trace.unchecked, tolerance, trace.as_of
    )
    kept = list(records)
    assessments = [a for p in profiles if (a := assess_profile(p, figures, kept)) is not None]
    root = graph.lots.get(graph.root)
    element_kg = _element_kg(root)
    names = {p.id: p.name for p in registry.participants.values()}
    return {
        "product": {
            "lot": graph.root,
            "owner": graph.owner_of(graph.root),
            "material": root.material if root else None,
            "quantityKg": root.quantity_kg if root else None,
            "elements": list(attribution.elements),
            "elementKg": element_kg,
        },
        "organisation": {"id": organisation, "name": names.get(organisation, organisation)},
        "asOf": trace.as_of.isoformat(),
        "generatedAt": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "maxDepth": trace.max_depth,
        "allocationNote": (
            "Every path passes a mass-balance or book-and-claim step somewhere: origin "
            "shares are allocations, not physical content (ISO 22095)."
            if allocation_only(attribution)
            else None
        ),
        "supplyChain": _supply_chain(graph, names),
        "smelterListTemplate": SMELTER_LIST_TEMPLATE,
        "smelterListColumns": list(SMELTER_LIST_COLUMNS),
        "smelterList": _smelter_list(trace, assessments, roles),
        "originByElement": _origins(trace, element_kg),
        "recycledContent": _recycled(trace, element_kg),
        "profiles": [_profile(a) for a in assessments],
        "risks": [
            {
                "kind": str(r.kind),
                "lot": r.lot,
                "owner": r.owner,
                "evidence": r.evidence,
                "shares": _nonzero(r.shares),
            }
            for r in trace.risks
        ],
        "records": [_record(r) for r in kept],
        "gaps": [
            {
                "lot": g.lot,
                "owner": g.owner,
                "reason": str(g.reason),
                "detail": g.detail,
                "shares": _nonzero(g.shares),
            }
            for g in attribution.gaps
        ],
        "notChecked": [
            {"check": str(u.check), "lot": u.lot, "owner": u.owner, "reason": u.reason}
            for u in trace.unchecked
        ],
    }


def _element_kg(root: TracedLot | None) -> dict[str, float] | None:
    if root is None or root.quantity_kg is None or root.contents is None:
        return None
    return {e: root.quantity_kg * c for e, c in sorted(root.contents.items()) if c > 0}


def _nonzero(shares: Mapping[str, float]) -> dict[str, float]:
    return {e: s for e, s in sorted(shares.items()) if s > 0}


def _supply_chain(graph: LotGraph, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every lot reached, at its tier: the fewest links from the product (breadth first)."""
    tier = {graph.root: 0}
    queue = deque([graph.root])
    while queue:
        lot_id = queue.popleft()
        lot = graph.lots.get(lot_id)
        for link in lot.inputs if lot else ():
            if link.lot not in tier:
                tier[link.lot] = tier[lot_id] + 1
                queue.append(link.lot)
    rows = []
    for lot_id, level in sorted(tier.items(), key=lambda item: (item[1], item[0])):
        lot = graph.lots.get(lot_id)
        owner = graph.owner_of(lot_id)
        facility = lot.facility if lot else None
        rows.append(
            {
                "tier": level,
                "lot": lot_id,
                "owner": owner,
                "ownerName": names.get(owner, owner),
                "opened": lot is not None,
                "material": lot.material if lot else None,
                "facility": facility.name if facility else None,
                "country": facility.country if facility else None,
                "activities": sorted(a.value for a in facility.activities or ())
                if facility
                else [],
                "inputs": [
                    {"lot": link.lot, "kilograms": link.kilograms}
                    for link in (lot.inputs if lot else ())
                ],
            }
        )
    return rows


def _below(graph: LotGraph, start: str) -> set[str]:
    """Every lot reachable upstream of ``start``, itself included."""
    seen = {start}
    stack = [start]
    while stack:
        lot = graph.lots.get(stack.pop())
        for link in lot.inputs if lot else ():
            if link.lot not in seen:
                seen.add(link.lot)
                stack.append(link.lot)
    return seen


def _smelter_list(
    trace: TraceReport, assessments: Sequence[ProfileAssessment], roles: Any
) -> list[dict[str, Any]]:
    """One row per (metal, facility) of every processor the profile's elements passed."""
    graph, attribution = trace.graph, trace.attribution
    origins = {o.lot: o for o in attribution.origins}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for assessment in assessments:
        metal = _METAL.get(assessment.profile.commodity, assessment.profile.name)
        elements = assessment.elements
        for audit in assessment.audits:
            lot = graph.lots[audit.lot]
            facility = lot.facility
            key = (metal, facility.id if facility else lot.owner)
            mines: list[tuple[str, str]] = []
            for below in sorted(_below(graph, lot.id)):
                origin = origins.get(below)
                if origin is None or not any(origin.shares.get(e, 0) > 0 for e in elements):
                    continue
                mines.append(_mine_of(graph.lots[below]))
            row = rows.setdefault(
                key,
                {
                    "Metal": metal,
                    "Smelter Look-up": "Smelter not listed",
                    "Smelter Name": facility.name if facility else lot.owner,
                    "Smelter Country": _country(facility.country if facility else ""),
                    "Smelter Identification": "",
                    "Source of Smelter Identification Number": "",
                    "Smelter Street": "",
                    "Smelter City": "",
                    "Smelter Facility Location: State / Province": facility.region
                    if facility
                    else "",
                    "Smelter Contact Name": "",
                    "Smelter Contact Email": "",
                    "Proposed next steps": "" if audit.recognised else _next_step(audit.detail),
                    SMELTER_LIST_COLUMNS[12]: set(),
                    SMELTER_LIST_COLUMNS[13]: set(),
                    SMELTER_LIST_COLUMNS[14]: "",
                    "Comments": set(),
                    "Audit Standard": audit.standard or "none",
                    "Audit Status": _audit_status(audit.recognised, audit.verification),
                    "Facility Id": facility.id if facility else "",
                },
            )
            row[SMELTER_LIST_COLUMNS[12]].update(name for name, _ in mines)
            row[SMELTER_LIST_COLUMNS[13]].update(country for _, country in mines)
            row["Comments"].add(f"lot {lot.id}: {audit.detail}")
    result = []
    for _, row in sorted(rows.items(), key=lambda item: (item[0][0], item[1]["Smelter Name"])):
        mine_names = sorted(row[SMELTER_LIST_COLUMNS[12]])
        countries = sorted(row[SMELTER_LIST_COLUMNS[13]])
        row[SMELTER_LIST_COLUMNS[12]] = "; ".join(mine_names) or "unknown"
        row[SMELTER_LIST_COLUMNS[13]] = "; ".join(countries) or "unknown"
        all_recycled = bool(mine_names) and all(n in ("recycled", "scrap") for n in mine_names)
        row[SMELTER_LIST_COLUMNS[14]] = "Yes" if all_recycled else "No" if mine_names else "Unknown"
        row["Comments"] = " | ".join(sorted(row["Comments"]))
        result.append(row)
    return result


def _mine_of(lot: TracedLot) -> tuple[str, str]:
    facility = lot.facility
    if facility is not None and Activity.SCRAP_COLLECTION in (facility.activities or ()):
        return "recycled", "recycled"
    if facility is None:
        return lot.owner, "unknown"
    return facility.name, _country(facility.country)


def _country(code: str) -> str:
    return _COUNTRIES.get(code, code)


def _audit_status(recognised: bool, verification: str) -> str:
    if verification == "WITHHELD":
        return "Unknown (certificates withheld)"
    if not recognised:
        return "Not audited to a recognised standard"
    return "Conformant (plain record, not a verified credential)"


def _next_step(detail: str) -> str:
    return f"Request a recognised audit: {detail}"


def _origins(trace: TraceReport, element_kg: Mapping[str, float] | None) -> list[dict[str, Any]]:
    """Per element: primary origins by country, recycled feed apart, then the unknown share."""
    graph, attribution = trace.graph, trace.attribution
    tables = []
    for element in attribution.elements:
        total_kg = element_kg.get(element) if element_kg else None
        primary: dict[str, float] = defaultdict(float)
        recycled: dict[str, float] = defaultdict(float)
        for origin in attribution.origins:
            share = origin.shares.get(element, 0.0)
            if share <= 0:
                continue
            lot = graph.lots[origin.lot]
            facility = lot.facility
            country = facility.country if facility else "unknown"
            recycled_fraction = (lot.recycled_post_consumer or 0.0) + (
                lot.recycled_pre_consumer or 0.0
            )
            is_scrap = facility is not None and Activity.SCRAP_COLLECTION in (
                facility.activities or ()
            )
            if is_scrap or recycled_fraction >= 1.0:
                recycled[country] += share
            else:
                primary[country] += share

        def rows(
            shares: Mapping[str, float], total: float | None = total_kg
        ) -> list[dict[str, Any]]:
            return [
                {"country": c, "countryName": _country(c), "share": s,
                 "kg": None if total is None else s * total}
                for c, s in sorted(shares.items(), key=lambda item: (-item[1], item[0]))
            ]  # fmt: skip

        unknown = max(0.0, 1.0 - attribution.coverage.get(element, 0.0))
        tables.append(
            {
                "element": element,
                "totalKg": total_kg,
                "primary": rows(primary),
                "recycled": rows(recycled),
                "unknown": {
                    "share": unknown,
                    "kg": None if total_kg is None else unknown * total_kg,
                },
                "approximate": element in attribution.approximate,
            }
        )
    return tables


def _recycled(trace: TraceReport, element_kg: Mapping[str, float] | None) -> list[dict[str, Any]]:
    """Per element: the pre- and post-consumer shares (EU 2023/1542 Article 8 classes)."""
    graph, attribution = trace.graph, trace.attribution
    result = []
    for element in attribution.elements:
        pre = post = hidden = 0.0
        for origin in attribution.origins:
            share = origin.shares.get(element, 0.0)
            lot = graph.lots[origin.lot]
            if lot.recycled_pre_consumer is None or lot.recycled_post_consumer is None:
                hidden += share
                continue
            pre += share * lot.recycled_pre_consumer
            post += share * lot.recycled_post_consumer
        total = element_kg.get(element) if element_kg else None
        unknown = hidden + max(0.0, 1.0 - attribution.coverage.get(element, 0.0))
        result.append(
            {
                "element": element,
                "preConsumer": pre,
                "postConsumer": post,
                "total": pre + post,
                "totalKg": None if total is None else (pre + post) * total,
                "unknown": unknown,
            }
        )
    return result


def _profile(assessment: ProfileAssessment) -> dict[str, Any]:
    profile = assessment.profile
    return {
        "commodity": profile.commodity,
        "name": profile.name,
        "elements": list(assessment.elements),
        "oecdAnnexII": [str(c) for c in profile.oecd_annex_ii],
        "euAnnexX": [str(c) for c in profile.eu_annex_x],
        "recognisedAudits": sorted(profile.recognised_audits),
        "redFlags": [
            {
                "flag": str(f.flag),
                "lot": f.lot,
                "owner": f.owner,
                "evidence": f.evidence,
                "shares": _nonzero(f.shares),
                "managed": f.managed,
                "records": [r.id for r in f.records],
            }
            for f in assessment.findings
        ],
        "audits": [
            {
                "lot": a.lot,
                "owner": a.owner,
                "facility": a.facility,
                "recognised": a.recognised,
                "standard": a.standard,
                "certificate": a.certificate,
                "verification": a.verification,
                "detail": a.detail,
            }
            for a in assessment.audits
        ],
        "outcomes": [
            {
                "id": o.outcome.id,
                "kind": str(o.outcome.kind),
                "statement": o.outcome.statement,
                "element": o.element,
                "state": str(o.state),
                "figure": o.figure,
                "threshold": o.threshold,
                "atMost": o.outcome.kind.at_most,
                "concerned": o.concerned,
                "unknown": o.unknown,
                "evidence": list(o.evidence),
            }
            for o in assessment.outcomes
        ],
        "allocationOnly": assessment.allocation_only,
    }


def _record(record: RiskRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "org": record.org,
        "flag": record.flag,
        "lot": record.lot,
        "decision": str(record.decision),
        "rationale": record.rationale,
        "decidedOn": record.decided_on.isoformat(),
        "reviewBy": record.review_by.isoformat() if record.review_by else None,
        "signedAt": record.signed_at.isoformat(timespec="seconds"),
        "signature": record.token,
    }
