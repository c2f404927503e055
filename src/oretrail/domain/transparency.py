"""The aggregates approved transparency queries publish, computed from traces.

Each function turns the traces of a product line into groups (a share of the
whole and the organisations behind it); :func:`oretrail.domain.disclosure.disclose`
decides what of them may be published.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from oretrail.domain.attribution import Attribution
from oretrail.domain.disclosure import Group
from oretrail.domain.lotgraph import LotGraph
from oretrail.domain.model import Role
from oretrail.domain.risks import audit_problem, needs_audit

__all__ = ["ProductTrace", "audited_throughput", "origin_groups", "recycled_content"]


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


def _accumulate(
    products: Sequence[ProductTrace],
    element: str,
    category: dict[str, str] | None,
    split: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Group]:
    """Shares of ``element`` by group across products, weighted by each product's mass."""
    total = sum(p.element_mass(element) for p in products)
    shares: dict[str, float] = defaultdict(float)
    contributors: dict[str, set[str]] = defaultdict(set)
    for product in products:
        weight = product.element_mass(element) / total if total > 0 else 0.0
        for origin in product.attribution.origins:
            share = origin.shares.get(element, 0.0) * weight
            if share <= 0:
                continue
            parts = split[origin.lot] if split else {category[origin.lot] if category else "": 1.0}
            for name, fraction in parts.items():
                if fraction > 0:
                    shares[name] += share * fraction
                    contributors[name].add(origin.owner)
    return [Group(n, shares[n], frozenset(contributors[n])) for n in sorted(shares)]


def origin_groups(products: Sequence[ProductTrace], element: str, by: str) -> list[Group]:
    """Share of the element by origin country ("COUNTRY") or artisanal origin ("ASM")."""
    category: dict[str, str] = {}
    for product in products:
        for origin in product.attribution.origins:
            facility = product.graph.lots[origin.lot].facility
            if by == "ASM":
                category[origin.lot] = "ASM" if facility and facility.artisanal else "NOT_ASM"
            else:
                category[origin.lot] = (facility.country if facility else "") or "UNKNOWN"
    return _accumulate(products, element, category)


def recycled_content(products: Sequence[ProductTrace], element: str) -> list[Group]:
    """Share of the element that is post-consumer, pre-consumer recycled, or primary."""
    split: dict[str, dict[str, float]] = {}
    for product in products:
        for origin in product.attribution.origins:
            lot = product.graph.lots[origin.lot]
            post = lot.recycled_post_consumer or 0.0
            pre = lot.recycled_pre_consumer or 0.0
            split[origin.lot] = {
                "POST_CONSUMER": post,
                "PRE_CONSUMER": pre,
                "PRIMARY": max(0.0, 1.0 - post - pre),
            }
    return _accumulate(products, element, None, split)


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
    shares: dict[str, float] = defaultdict(float)
    contributors: dict[str, set[str]] = defaultdict(set)
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
            shares[name] += mass
            contributors[name].add(lot.owner)
    total = sum(shares.values())
    return [
        Group(n, shares[n] / total if total else 0.0, frozenset(contributors[n]))
        for n in sorted(shares)
    ]
