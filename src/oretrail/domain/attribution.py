"""Per-element attribution, coverage, gaps and weakest custody over a lot graph.

The rules are DESIGN.md's "Trace semantics":

- For element e, the share of lot L's e that came from input X is
  ``q_X * c_X(e) / sum over L's inputs of q * c(e)``. Shares multiply along a path
  and add over paths; two links to the same input add up.
- Where any input's contents are withheld or missing (an input behind a gap
  included), L's share of e falls back to mass shares among the inputs that may
  hold e (equal shares if a mass is withheld too), marked approximate. An input
  known to hold none of e gets none; an unknown one never reads as zero.
- When L claims more of e than its inputs supply (``q_L * c_L(e)`` above
  ``sum q * c(e)`` by more than the tolerance), only the supplied part goes to the
  inputs; the rest is an UNSUPPORTED_CLAIM gap at L.
- A lot without inputs is an origin only at a facility that extracts or collects
  scrap; anywhere else it is an UNDECLARED_INPUTS gap.

Every share of the root ends at an origin or a gap, so for each element
``coverage + sum of gap shares = 1``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from oretrail.domain.lotgraph import GapReason, LotGraph, TracedInput, TracedLot
from oretrail.domain.model import ORIGIN_ACTIVITIES, Custody

__all__ = [
    "DEFAULT_TOLERANCE",
    "Attribution",
    "Gap",
    "OriginShare",
    "attribute",
    "elements_of",
    "is_origin",
]

# A claim within 2 % above what the inputs supply counts as supplied (assay and
# weighing error); the same default as the mass-balance risk.
DEFAULT_TOLERANCE = 0.02


@dataclass(frozen=True, slots=True)
class OriginShare:
    """An origin lot and the share of the root's elements that came from it."""

    lot: str
    owner: str
    shares: dict[str, float]
    approximate: frozenset[str]
    custody: Custody | None


@dataclass(frozen=True, slots=True)
class Gap:
    """A part of the trace that could not be followed, with the share of the root behind it."""

    lot: str
    owner: str
    reason: GapReason
    detail: str
    shares: dict[str, float]
    via: str | None


@dataclass(slots=True)
class Attribution:
    """Origins and gaps with their shares of the root, per element.

    ``through`` holds, for every lot the shares reached, the share of the root's
    elements that passed through it (what a flag on that lot concerns); ``flows``,
    for every (consumer, input) pair of lots, the share that passed from the input
    into the consumer (what a diagram of the flow draws; a cycle's closing link
    carries none, its share is a CYCLE gap).
    """

    elements: tuple[str, ...]
    origins: list[OriginShare] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)
    approximate: frozenset[str] = frozenset()
    through: dict[str, dict[str, float]] = field(default_factory=dict)
    flows: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)


def elements_of(graph: LotGraph) -> tuple[str, ...]:
    """The elements to attribute: the root's declared ones, else every one seen."""
    root = graph.lots.get(graph.root)
    if root is not None and root.contents:
        return tuple(sorted(e for e, c in root.contents.items() if c > 0))
    seen = {e for lot in graph.lots.values() if lot.contents for e, c in lot.contents.items()}
    return tuple(sorted(seen))


def is_origin(lot: TracedLot) -> bool | None:
    """Whether a lot without inputs is an origin; None when its facility's activities
    are not known to the caller."""
    facility = lot.facility
    if facility is None or facility.activities is None or "origin" in lot.withheld:
        return None
    return bool(facility.activities & ORIGIN_ACTIVITIES)


@dataclass(slots=True)
class _Split:
    """How one lot's share of one element divides: fractions per input, the rest unsupported."""

    fractions: dict[str, float]
    unsupported: float
    approximate: bool
    detail: str = ""


def attribute(graph: LotGraph, tolerance: float = DEFAULT_TOLERANCE) -> Attribution:
    """Push each element's share from the root down the lot graph to origins and gaps."""
    elements = elements_of(graph)
    result = Attribution(elements=elements)
    back_edges = _back_edges(graph)
    order = _topological_order(graph, back_edges)

    share: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(elements, 0.0))
    share[graph.root] = dict.fromkeys(elements, 1.0)
    approx: dict[str, set[str]] = defaultdict(set)
    cycle_gaps: dict[tuple[str, str], dict[str, float]] = {}
    unsupported: dict[str, tuple[dict[str, float], list[str]]] = {}

    for lot_id in order:
        lot = graph.lots.get(lot_id)
        if lot is None or not lot.inputs:
            continue
        here = share[lot_id]
        for element in elements:
            if here[element] <= 0:
                continue
            split = _split(graph, lot, element, tolerance)
            if split.unsupported > 0:
                gap, details = unsupported.setdefault(lot_id, (dict.fromkeys(elements, 0.0), []))
                gap[element] += here[element] * split.unsupported
                details.append(split.detail)
            for input_id, fraction in split.fractions.items():
                portion = here[element] * fraction
                if (lot_id, input_id) in back_edges:
                    cycle = cycle_gaps.setdefault((lot_id, input_id), dict.fromkeys(elements, 0.0))
                    cycle[element] += portion
                    continue
                share[input_id][element] += portion
                flow = result.flows.setdefault((lot_id, input_id), dict.fromkeys(elements, 0.0))
                flow[element] += portion
                if split.approximate or element in approx[lot_id]:
                    approx[input_id].add(element)

    weakest = _weakest_custody(graph, order, back_edges)

    for lot_id in order:
        result.through[lot_id] = dict(share[lot_id])
        lot = graph.lots.get(lot_id)
        if lot is None:
            result.gaps.append(_unopened_gap(graph, lot_id, share[lot_id]))
            continue
        if not lot.inputs:
            end = _end_of(lot, dict(share[lot_id]), frozenset(approx[lot_id]), weakest.get(lot_id))
            if isinstance(end, OriginShare):
                result.origins.append(end)
            else:
                result.gaps.append(end)
    for lot_id, (shares, details) in unsupported.items():
        result.gaps.append(
            Gap(
                lot_id,
                graph.owner_of(lot_id),
                GapReason.UNSUPPORTED_CLAIM,
                "; ".join(details),
                shares,
                via=None,
            )
        )
    for (consumer, lot_id), shares in cycle_gaps.items():
        result.gaps.append(
            Gap(
                lot_id,
                graph.owner_of(lot_id),
                GapReason.CYCLE,
                f"{consumer} lists {lot_id} as an input, which closes a cycle",
                shares,
                consumer,
            )
        )

    result.coverage = {e: min(1.0, sum(o.shares[e] for o in result.origins)) for e in elements}
    result.approximate = frozenset(e for o in result.origins for e in o.approximate)
    return result


def _end_of(
    lot: TracedLot, shares: dict[str, float], approximate: frozenset[str], custody: Custody | None
) -> OriginShare | Gap:
    """Where a lot without inputs leaves its share: an origin, or a gap saying why not."""
    if "inputs" in lot.withheld:
        detail = f"{lot.owner} withholds field group 'inputs' of this lot from the caller"
        return Gap(lot.id, lot.owner, GapReason.WITHHELD, detail, shares, via=None)
    origin = is_origin(lot)
    if origin:
        return OriginShare(lot.id, lot.owner, shares, approximate, custody)
    if origin is None:
        detail = (
            f"{lot.owner} withholds field group 'origin' of this lot, which declares no "
            "inputs: whether it was made at an extraction or scrap-collection site, and "
            "where, is not known"
        )
        return Gap(lot.id, lot.owner, GapReason.WITHHELD, detail, shares, via=None)
    assert lot.facility is not None
    assert lot.facility.activities is not None
    activities = ", ".join(sorted(a.lower() for a in lot.facility.activities))
    detail = (
        f"lot declares no inputs, but its facility {lot.facility.name} "
        f"({activities or 'no activities declared'}) neither extracts nor collects scrap, "
        "so it is not an origin"
    )
    return Gap(lot.id, lot.owner, GapReason.UNDECLARED_INPUTS, detail, shares, via=None)


def _unopened_gap(graph: LotGraph, lot_id: str, shares: dict[str, float]) -> Gap:
    unopened = graph.unopened.get(lot_id)
    if unopened is None:  # reached by a link, yet the trace holds no answer for it
        return Gap(
            lot_id,
            graph.owner_of(lot_id),
            GapReason.NOT_FOUND,
            "the trace holds no answer for this lot",
            dict(shares),
            via=None,
        )
    return Gap(lot_id, unopened.owner, unopened.reason, unopened.detail, dict(shares), via=None)


def _split(graph: LotGraph, lot: TracedLot, element: str, tolerance: float) -> _Split:
    """How ``lot``'s share of ``element`` divides among its inputs (module docstring)."""
    exact: dict[str, float] = defaultdict(float)
    for link in lot.inputs:
        content = _contents_of(graph, link)
        if content is None or link.kilograms is None:
            return _fallback(graph, lot, element)
        exact[link.lot] += link.kilograms * content.get(element, 0.0)
    supplied = sum(exact.values())
    claimed = None
    if lot.contents is not None and lot.quantity_kg is not None:
        claimed = lot.quantity_kg * lot.contents.get(element, 0.0)
    if supplied <= 0:
        return _Split({}, 1.0, False, f"{element}: none of the lot's inputs holds any")
    if claimed is not None and claimed > supplied * (1 + tolerance):
        return _Split(
            {i: w / claimed for i, w in exact.items() if w > 0},
            1.0 - supplied / claimed,
            False,
            f"{element}: claims {claimed:,.2f} kg but its inputs supply {supplied:,.2f} kg",
        )
    return _Split({i: w / supplied for i, w in exact.items() if w > 0}, 0.0, False)


def _fallback(graph: LotGraph, lot: TracedLot, element: str) -> _Split:
    """Mass shares among the inputs that may hold ``element``; equal shares if a mass is
    withheld. An input whose contents are known and hold none of it gets none."""
    candidates = [
        link
        for link in lot.inputs
        if (content := _contents_of(graph, link)) is None or content.get(element, 0.0) > 0
    ]
    if not candidates:
        return _Split({}, 1.0, False, f"{element}: none of the lot's inputs holds any")
    weights: dict[str, float] = defaultdict(float)
    if all(link.kilograms is not None for link in candidates):
        for link in candidates:
            weights[link.lot] += link.kilograms or 0.0
    else:
        for link in candidates:
            weights[link.lot] = 1.0
    total = sum(weights.values())
    return _Split({i: w / total for i, w in weights.items()}, 0.0, True)


def _weakest_custody(
    graph: LotGraph, order: list[str], back_edges: set[tuple[str, str]]
) -> dict[str, Custody | None]:
    """For each lot, the weakest custody model on any path from the root down to it."""
    parents: dict[str, set[str]] = defaultdict(set)
    for consumer, link in graph.edges():
        if (consumer, link.lot) not in back_edges:
            parents[link.lot].add(consumer)
    weakest: dict[str, Custody | None] = {}
    for lot_id in order:
        found = _custody(graph, lot_id)
        for parent in parents.get(lot_id, ()):
            inherited = weakest.get(parent)
            if inherited is not None and (found is None or _STRENGTH[inherited] < _STRENGTH[found]):
                found = inherited
        weakest[lot_id] = found
    return weakest


# Looked up once per link of every trace: cheaper than the property.
_STRENGTH = {custody: custody.strength for custody in Custody}


def _custody(graph: LotGraph, lot_id: str) -> Custody | None:
    lot = graph.lots.get(lot_id)
    return lot.custody if lot else None


def _contents_of(graph: LotGraph, link: TracedInput) -> Mapping[str, float] | None:
    lot = graph.lots.get(link.lot)
    return None if lot is None else lot.contents


def _back_edges(graph: LotGraph) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by an iterative depth-first walk from the root."""
    on_path: set[str] = set()
    done: set[str] = set()
    back: set[tuple[str, str]] = set()
    stack: list[tuple[str, int]] = [(graph.root, 0)]
    on_path.add(graph.root)
    while stack:
        lot_id, index = stack[-1]
        lot = graph.lots.get(lot_id)
        inputs = lot.inputs if lot else ()
        if index < len(inputs):
            stack[-1] = (lot_id, index + 1)
            child = inputs[index].lot
            if child in on_path:
                back.add((lot_id, child))
            elif child not in done:
                on_path.add(child)
                stack.append((child, 0))
        else:
            stack.pop()
            on_path.discard(lot_id)
            done.add(lot_id)
    return back


def _topological_order(graph: LotGraph, back_edges: set[tuple[str, str]]) -> list[str]:
    """Lots reachable from the root, every consumer before its inputs (Kahn's algorithm)."""
    children: dict[str, list[str]] = {}
    frontier = [graph.root]
    while frontier:
        lot_id = frontier.pop()
        if lot_id in children:
            continue
        lot = graph.lots.get(lot_id)
        inputs = {link.lot for link in lot.inputs} if lot else set()
        children[lot_id] = sorted(c for c in inputs if (lot_id, c) not in back_edges)
        frontier.extend(children[lot_id])
    indegree: dict[str, int] = dict.fromkeys(children, 0)
    for kids in children.values():
        for child in kids:
            indegree[child] += 1
    ready = deque(lot_id for lot_id in sorted(children) if indegree[lot_id] == 0)
    order: list[str] = []
    while ready:
        lot_id = ready.popleft()
        order.append(lot_id)
        for child in children[lot_id]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return order
