"""Per-element attribution, coverage, gaps and weakest custody over a lot graph.

For element e, the share of the root's e that came from input X of lot L is
``q_X * c_X(e) / sum over L's inputs of q * c(e)``. Shares multiply along a
path and add over paths. Where an input's contents are unknown, that input gets
a mass share of whatever L's own declared content leaves unexplained (plain mass
shares if L's content is unknown too), and the figure is marked approximate.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from oretrail.domain.lotgraph import GapReason, LotGraph, TracedInput, TracedLot
from oretrail.domain.model import Custody

__all__ = ["Attribution", "Gap", "OriginShare", "Unattributed", "attribute", "elements_of"]


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
    """A lot the trace could not open, with the share of the root behind it."""

    lot: str
    owner: str
    reason: GapReason
    detail: str
    shares: dict[str, float]
    via: str | None


@dataclass(frozen=True, slots=True)
class Unattributed:
    """Share of an element lost at a lot none of whose inputs declares that element."""

    lot: str
    element: str
    share: float


@dataclass(slots=True)
class Attribution:
    elements: tuple[str, ...]
    origins: list[OriginShare] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    unattributed: list[Unattributed] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)
    approximate: frozenset[str] = frozenset()


def elements_of(graph: LotGraph) -> tuple[str, ...]:
    """The elements to attribute: the root's declared ones, else every one seen."""
    root = graph.lots.get(graph.root)
    if root is not None and root.contents:
        return tuple(sorted(e for e, c in root.contents.items() if c > 0))
    seen = {e for lot in graph.lots.values() if lot.contents for e, c in lot.contents.items()}
    return tuple(sorted(seen))


def attribute(graph: LotGraph) -> Attribution:
    """Push each element's share from the root down the lot graph to origins and gaps."""
    elements = elements_of(graph)
    result = Attribution(elements=elements)
    back_edges = _back_edges(graph)
    order = _topological_order(graph, back_edges)

    share: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(elements, 0.0))
    share[graph.root] = dict.fromkeys(elements, 1.0)
    approx: dict[str, set[str]] = defaultdict(set)
    cycle_gaps: dict[tuple[str, str], dict[str, float]] = {}

    for lot_id in order:
        lot = graph.lots.get(lot_id)
        if lot is None or not lot.inputs:
            continue
        here = share[lot_id]
        for element in elements:
            weights, fallback = _weights(graph, lot, element)
            total = sum(weights.values())
            if total <= 0:
                if here[element] > 0:
                    result.unattributed.append(Unattributed(lot_id, element, here[element]))
                continue
            for input_id, weight in weights.items():
                portion = here[element] * weight / total
                if (lot_id, input_id) in back_edges:
                    cycle = cycle_gaps.setdefault((lot_id, input_id), dict.fromkeys(elements, 0.0))
                    cycle[element] += portion
                    continue
                share[input_id][element] += portion
                if fallback or element in approx[lot_id]:
                    approx[input_id].add(element)

    weakest = _weakest_custody(graph, order, back_edges)

    for lot_id in order:
        lot = graph.lots.get(lot_id)
        if lot is not None:
            result.gaps.extend(_withheld_gaps(lot, share[lot_id]))
        if lot is not None and not lot.inputs and "inputs" in lot.withheld:
            continue  # not an origin: its inputs exist but are not shown
        if lot is not None and not lot.inputs:
            result.origins.append(
                OriginShare(
                    lot=lot_id,
                    owner=lot.owner,
                    shares=dict(share[lot_id]),
                    approximate=frozenset(approx[lot_id]),
                    custody=weakest.get(lot_id),
                )
            )
        elif lot is None and lot_id in graph.unopened:
            unopened = graph.unopened[lot_id]
            result.gaps.append(
                Gap(
                    lot_id,
                    unopened.owner,
                    unopened.reason,
                    unopened.detail,
                    dict(share[lot_id]),
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


def _withheld_gaps(lot: TracedLot, shares: dict[str, float]) -> list[Gap]:
    """One WITHHELD gap per field group the owner withheld, with the share behind the lot."""
    return [
        Gap(
            lot.id,
            lot.owner,
            GapReason.WITHHELD,
            f"{lot.owner} withholds field group {group!r} of this lot from the caller",
            dict(shares),
            via=None,
        )
        for group in sorted(lot.withheld)
    ]


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


def _weights(graph: LotGraph, lot: TracedLot, element: str) -> tuple[dict[str, float], bool]:
    """Each input's weight for ``element``, and whether any weight is an approximation.

    Inputs with known contents weigh ``q * c(e)``. Inputs whose contents are unknown
    (withheld, or behind a gap) share by mass what the lot's own declared content
    leaves unexplained; if the lot's own content is unknown too, every input
    weighs by mass alone.
    """
    if any(link.kilograms is None for link in lot.inputs):
        return _mass_weights(lot.inputs), True
    known: dict[str, float] = defaultdict(float)
    unknown: dict[str, float] = defaultdict(float)
    for link in lot.inputs:
        assert link.kilograms is not None
        content = _contents_of(graph, link)
        if content is None:
            unknown[link.lot] += link.kilograms
        else:
            known[link.lot] += link.kilograms * content.get(element, 0.0)
    if not unknown:
        return known, False
    if lot.contents is None or lot.quantity_kg is None:
        return _mass_weights(lot.inputs), True
    own = lot.quantity_kg * lot.contents.get(element, 0.0)
    remainder = max(0.0, own - sum(known.values()))
    unknown_mass = sum(unknown.values())
    weights = dict(known)
    for lot_id, kilograms in unknown.items():
        weights[lot_id] = weights.get(lot_id, 0.0) + remainder * kilograms / unknown_mass
    return weights, True


def _mass_weights(inputs: tuple[TracedInput, ...]) -> dict[str, float]:
    """Weights by mass consumed; equal weights when any mass is withheld."""
    weights: dict[str, float] = defaultdict(float)
    masses_known = all(link.kilograms is not None for link in inputs)
    for link in inputs:
        weights[link.lot] += (link.kilograms or 0.0) if masses_known else 1.0
    return weights


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
