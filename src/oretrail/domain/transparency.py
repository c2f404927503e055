"""The aggregates approved transparency queries publish, computed from traces.

Each function turns the traces of a product line into groups (a share of the
whole and the organisations behind it); :func:`oretrail.domain.disclosure.disclose`
decides what of them may be published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from oretrail.domain.attribution import Attribution
from oretrail.domain.disclosure import Cell, Group
from oretrail.domain.lotgraph import LotGraph
from oretrail.domain.model import Role
from oretrail.domain.risks import audit_problem, needs_audit

__all__ = [
    "PERIOD_KINDS",
    "TRACE_DEPTH",
    "ProductTrace",
    "ReportingPeriod",
    "audited_throughput",
    "closed_period_ending",
    "last_closed_period",
    "origin_groupings",
    "origin_groups",
    "period_containing",
    "recycled_content",
]


# The depth every approved query traces its product line to. Fixed, not the caller's
# choice: the first run of a period computes the answer every later run returns, so
# a shallower first run would fix a truncated answer for the period (DESIGN.md, Trust 5).
TRACE_DEPTH = 20


@dataclass(frozen=True, slots=True)
class ProductTrace:
    graph: LotGraph
    attribution: Attribution

    def element_mass(self, element: str) -> float:
        """The product's mass of ``element``, the weight of its share in a product line."""
        root = self.graph.lots.get(self.graph.root)
        if root is None or root.quantity_kg is None or root.contents is None:
            return 1.0  # unknown: every product weighs the same
        return root.quantity_kg * root.contents.get(element, 0.0)


def origin_groupings(products: Sequence[ProductTrace], element: str) -> dict[str, list[Group]]:
    """The element's shares of the line by ``COUNTRY`` of origin, by ``ASM`` origin and
    by ``RECYCLED`` content, over one set of cells, to be disclosed together.

    A cell is one origin lot's share in one recycled category (post-consumer,
    pre-consumer, primary) of the line's ``element``, each product weighed by its
    mass of the element: the finest piece all three groupings are sums of.
    """
    total = sum(p.element_mass(element) for p in products)
    groupings: dict[str, dict[str, dict[str, Cell]]] = {
        "COUNTRY": defaultdict(dict),
        "ASM": defaultdict(dict),
        "RECYCLED": defaultdict(dict),
    }
    for product in products:
        weight = product.element_mass(element) / total if total > 0 else 0.0
        for origin in product.attribution.origins:
            share = origin.shares.get(element, 0.0) * weight
            if share <= 0:
                continue
            lot = product.graph.lots[origin.lot]
            facility = lot.facility
            country = (facility.country if facility else "") or "UNKNOWN"
            asm = "ASM" if facility and facility.artisanal else "NOT_ASM"
            post = lot.recycled_post_consumer or 0.0
            pre = lot.recycled_pre_consumer or 0.0
            split = {
                "POST_CONSUMER": post,
                "PRE_CONSUMER": pre,
                "PRIMARY": max(0.0, 1.0 - post - pre),
            }
            for category, fraction in split.items():
                if fraction <= 0:
                    continue
                key = f"{origin.lot}|{category}"
                previous = groupings["COUNTRY"][country].get(key)
                cell = Cell(origin.owner, share * fraction + (previous.share if previous else 0))
                groupings["COUNTRY"][country][key] = cell
                groupings["ASM"][asm][key] = cell
                groupings["RECYCLED"][category][key] = cell
    return {
        name: [Group(g, cells) for g, cells in sorted(groups.items())]
        for name, groups in groupings.items()
    }


def origin_groups(products: Sequence[ProductTrace], element: str, by: str) -> list[Group]:
    """Share of the element by origin country ("COUNTRY") or artisanal origin ("ASM")."""
    return origin_groupings(products, element)[by]


def recycled_content(products: Sequence[ProductTrace], element: str) -> list[Group]:
    """Share of the element that is post-consumer, pre-consumer recycled, or primary."""
    return origin_groupings(products, element)["RECYCLED"]


def audited_throughput(
    products: Sequence[ProductTrace], roles: Mapping[str, Collection[Role]], as_of: date
) -> list[Group]:
    """Share of processed element mass under a valid third-party audit.

    Every lot made at a facility that smelts, refines or chemically processes
    (:func:`oretrail.domain.risks.needs_audit`) weighs by the mass of each element of
    the product that passed through it (the product's element mass times the share
    through the lot), summed over elements: what the product line holds, not the
    processors' gross tonnes. Audits are judged on each lot's production date
    (``as_of`` when it is not shown).
    """
    masses: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    for product in products:
        elements = product.attribution.elements
        for lot in product.graph.lots.values():
            if not needs_audit(lot, roles.get(lot.owner, ())):
                continue
            through = product.attribution.through.get(lot.id, {})
            mass = sum(product.element_mass(e) * through.get(e, 0.0) for e in elements)
            if mass <= 0:
                continue
            audited = audit_problem(lot, lot.produced_at or as_of) is None
            name = "AUDITED" if audited else "NOT_AUDITED"
            # One cell per processing lot (and product): its owner's part of the group.
            masses[name][f"{product.graph.root}|{lot.id}"] = (lot.owner, mass)
    total = sum(mass for cells in masses.values() for _, mass in cells.values())
    if total <= 0:
        return []
    return [
        Group(n, {key: Cell(org, mass / total) for key, (org, mass) in masses[n].items()})
        for n in sorted(masses)
    ]


# Reporting periods an approved query may declare; a calendar quarter unless it says.
PERIOD_KINDS = ("quarter", "month", "year")
_MONTHS_PER_PERIOD = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True, slots=True)
class ReportingPeriod:
    """A closed range of days, ``start`` to ``end`` inclusive (UTC)."""

    kind: str
    start: date
    end: date

    @property
    def closes_at(self) -> datetime:
        """The as-of a transparency request for this period names: its last second, UTC."""
        return datetime(self.end.year, self.end.month, self.end.day, 23, 59, 59, tzinfo=UTC)

    @property
    def label(self) -> str:
        """ISO 8601 interval of dates, e.g. ``2026-04-01/2026-06-30``."""
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def period_containing(day: date, kind: str = "quarter") -> ReportingPeriod:
    """The calendar month, quarter or year holding ``day``; ValueError for another kind."""
    if kind not in _MONTHS_PER_PERIOD:
        raise ValueError(f"a reporting period is one of {', '.join(PERIOD_KINDS)}, not {kind!r}")
    months = _MONTHS_PER_PERIOD[kind]
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    after = first_month + months
    following = date(day.year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return ReportingPeriod(kind, start, following - timedelta(days=1))


def closed_period_ending(as_of: datetime, kind: str, now: datetime) -> ReportingPeriod | str:
    """The closed reporting period whose end ``as_of`` is, or why it is none (DESIGN.md,
    Trust 5: a transparency request names the end of a closed period).

    ``as_of`` must be the period's last second, 23:59:59 UTC of its last day, and
    ``now`` past it: an open period's figures would still change.
    """
    at = as_of.astimezone(UTC)
    period = period_containing(at.date(), kind)
    if at != period.closes_at:
        return (
            f"as-of {at:%Y-%m-%dT%H:%M:%SZ} is not the end of a reporting period "
            f"({kind}); the period holding it ends {period.closes_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    if now.astimezone(UTC) <= period.closes_at:
        return f"the reporting period {period.label} is not closed yet"
    return period


def last_closed_period(now: datetime, kind: str = "quarter") -> ReportingPeriod:
    """The most recent reporting period of ``kind`` that ended before ``now``."""
    current = period_containing(now.astimezone(UTC).date(), kind)
    return period_containing(current.start - timedelta(days=1), kind)
