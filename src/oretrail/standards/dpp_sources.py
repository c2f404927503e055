"""What both passports read from a finished trace: the product, its parties, its elements.

Plain functions over the domain's trace result (``LotGraph`` and ``Attribution``); no
I/O. Shares are the trace's per-element attribution (DESIGN.md, "Trace semantics"):
an origin's share of an element is the share of the product's content of it that came
from that origin; coverage is the share attributed to identified origins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from oretrail.domain.attribution import Attribution
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Certificate

__all__ = [
    "ELEMENT_NAMES",
    "OriginGroup",
    "Party",
    "TracedProduct",
    "certificates_on_path",
    "origin_groups",
    "timestamp",
]

ORG_URN = "urn:oretrail:org:"
TRACE_URN = "urn:oretrail:trace:"

# English names of the elements a battery trace usually follows (IUPAC); any other
# element is named by its symbol.
ELEMENT_NAMES: Mapping[str, str] = {
    "Co": "cobalt",
    "Ni": "nickel",
    "Li": "lithium",
    "Mn": "manganese",
    "C": "carbon (graphite)",
    "Cu": "copper",
    "Al": "aluminium",
    "Fe": "iron",
    "P": "phosphorus",
    "Pb": "lead",
    "Nd": "neodymium",
    "Pr": "praseodymium",
    "Dy": "dysprosium",
    "Tb": "terbium",
}


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation as a passport names it: its registry id and name."""

    id: str
    name: str

    @property
    def uri(self) -> str:
        """``urn:oretrail:org:<id>``: the issuer its organisation key signs as."""
        return f"{ORG_URN}{self.id}"

    def as_untp(self) -> dict[str, str]:
        return {"id": self.uri, "name": self.name}


@dataclass(frozen=True, slots=True)
class TracedProduct:
    """A finished trace of one lot, and who asks for its passports.

    ``parties`` names the organisations of the registry by id; ``record_id`` is the
    gateway's trace record the passports rest on.
    """

    graph: LotGraph
    attribution: Attribution
    record_id: str
    issuer: Party
    parties: Mapping[str, str]

    @property
    def root(self) -> TracedLot:
        return self.graph.lots[self.graph.root]

    @property
    def trace_uri(self) -> str:
        return f"{TRACE_URN}{self.record_id}"

    def party(self, org: str) -> Party:
        return Party(org, self.parties.get(org, org))

    def content(self, element: str) -> float | None:
        """The product's mass fraction of ``element``; None when not shown."""
        contents = self.root.contents
        return None if contents is None else contents.get(element, 0.0)


@dataclass(frozen=True, slots=True)
class OriginGroup:
    """The origins of one element in one country, together.

    ``share``: of the product's content of the element; ``recycled_pre`` and
    ``recycled_post``: of that share, the part from pre- and post-consumer recycled
    origins (None when an origin's recycled shares are withheld).
    """

    element: str
    country: str | None
    share: float
    recycled_pre: float | None
    recycled_post: float | None
    approximate: bool


def origin_groups(product: TracedProduct) -> list[OriginGroup]:
    """Per element and origin country (None when withheld), the share of the product's
    element from there, and how much of it is recycled; sorted by element, then share."""
    shares: dict[tuple[str, str | None], list[tuple[float, float | None, float | None]]]
    shares = defaultdict(list)
    approximate: set[tuple[str, str | None]] = set()
    for origin in product.attribution.origins:
        lot = product.graph.lots[origin.lot]
        country = lot.facility.country if lot.facility and "origin" not in lot.withheld else None
        for element, share in origin.shares.items():
            if share <= 0:
                continue
            key = (element, country)
            shares[key].append((share, lot.recycled_pre_consumer, lot.recycled_post_consumer))
            if element in origin.approximate:
                approximate.add(key)
    groups = []
    for (element, country), items in shares.items():
        total = sum(s for s, _, _ in items)
        pre = _weighted([(s, p) for s, p, _ in items], total)
        post = _weighted([(s, p) for s, _, p in items], total)
        groups.append(
            OriginGroup(element, country, total, pre, post, (element, country) in approximate)
        )
    return sorted(groups, key=lambda g: (g.element, -g.share, g.country or ""))


def _weighted(items: list[tuple[float, float | None]], total: float) -> float | None:
    if total <= 0 or any(value is None for _, value in items):
        return None
    return sum(share * (value or 0.0) for share, value in items) / total


def certificates_on_path(product: TracedProduct) -> list[tuple[Certificate, list[TracedLot]]]:
    """Every certificate the trace was shown, once, with the traced lots it concerns
    (the lots made at the facility or by the organisation it is about)."""
    found: dict[tuple[str, str], tuple[Certificate, list[TracedLot]]] = {}
    for lot in sorted(product.graph.lots.values(), key=lambda item: item.id):
        for certificate in lot.certificates:
            key = (certificate.issuer, certificate.id)
            found.setdefault(key, (certificate, []))[1].append(lot)
    return [found[key] for key in sorted(found)]


def timestamp(moment: datetime) -> str:
    """An XML Schema dateTime in UTC, to the second (VC 2.0 ``validFrom``)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
