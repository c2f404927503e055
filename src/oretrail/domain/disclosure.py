"""Statistical disclosure control for transparency answers (DESIGN.md, Trust 5).

Two primary rules, as statistical offices apply them to tables of magnitudes:

- **threshold**: a figure is published only if at least ``k`` organisations
  contribute to it (``k`` is at least 3 in every approved query);
- **dominance**: and only if no one organisation contributes more than
  ``dominance`` (80 %) of it, since a dominant contributor could read its
  competitors' small remainder off the figure.

Secondary (complementary) suppression. Every figure is a sum of *cells*, the
finest pieces of an aggregate's base (one origin lot's share, in one recycled
category, say), and the figures of several groupings over one base (cobalt by
country, by artisanal origin, by recycled content) can be added and subtracted:
CD minus ASM is the industrial mines' cobalt; 1 minus the shown countries is the
hidden ones. So the rules are applied to every sum of cells that any linear
combination of the published figures and the whole yields, across all the
groupings given together; while one breaks them, the smallest published group
whose suppression removes that sum from reach is suppressed too. Nothing else is
published: no residual, no number of suppressed groups, no number of
contributors (each would name or bound the hidden groups).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = [
    "DOMINANCE",
    "MIN_K",
    "Cell",
    "Disclosure",
    "Group",
    "disclose",
    "disclose_all",
    "sensitive",
]

# The smallest group size any approved query may declare (DESIGN.md, Trust 5).
MIN_K = 3
# No contributor may hold more than this fraction of a published group.
DOMINANCE = 0.80


# Above this many distinguishable sets of cells, the sums within reach are not
# enumerated: groups are suppressed, smallest first, until there are fewer.
MAX_CLASSES = 12


@dataclass(frozen=True, slots=True)
class Cell:
    """The finest piece of an aggregate's base: one organisation's part of the whole."""

    org: str
    share: float


@dataclass(frozen=True, slots=True)
class Group:
    """One group of an aggregate: the cells (by key) it sums.

    Groups of several groupings over one base share cell keys: a key names the same
    piece of the base in each.
    """

    name: str
    cells: Mapping[str, Cell] = field(default_factory=dict)

    @property
    def share(self) -> float:
        return sum(c.share for c in self.cells.values())

    @property
    def contributions(self) -> dict[str, float]:
        return _by_org(self.cells.values())

    @property
    def contributors(self) -> frozenset[str]:
        return frozenset(o for o, part in self.contributions.items() if part > 0)


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What may be published of a set of groups: ``shown``, nothing else.

    ``withheld`` names the suppressed groups for the gateway's own tests and logs;
    it is never published.
    """

    shown: tuple[Group, ...]
    k: int
    dominance: float
    withheld: tuple[str, ...] = ()


def sensitive(contributions: Mapping[str, float], k: int, dominance: float = DOMINANCE) -> bool:
    """True if a figure made of ``contributions`` breaks the threshold or dominance rule."""
    parts = [part for part in contributions.values() if part > 0]
    total = sum(parts)
    if len(parts) < k or total <= 0:
        return True
    return max(parts) > dominance * total


def disclose(groups: Iterable[Group], k: int, dominance: float = DOMINANCE) -> Disclosure:
    """The groups of one grouping that may be published; see :func:`disclose_all`."""
    return disclose_all({"": list(groups)}, k, dominance)[""]


def disclose_all(
    groupings: Mapping[str, Sequence[Group]], k: int, dominance: float = DOMINANCE
) -> dict[str, Disclosure]:
    """What may be published of several groupings over one base, decided together.

    Returns a Disclosure per grouping. Raises ValueError for k below 1.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    shown = [
        (name, g)
        for name, groups in groupings.items()
        for g in groups
        if g.share > 0 and not sensitive(g.contributions, k, dominance)
    ]
    shown.sort(key=lambda ng: (ng[1].share, ng[0], ng[1].name))  # smallest first
    universe: dict[str, Cell] = {}
    for groups in groupings.values():
        for g in groups:
            universe.update(g.cells)
    while shown:
        reach = _Reach([g for _, g in shown], universe)
        if reach.too_complex:
            shown.pop(0)
            continue
        exposed = reach.exposed(k, dominance)
        if exposed is None:
            break
        shown.remove(_victim(shown, universe, exposed))
    out = {}
    for name, groups in groupings.items():
        kept = sorted((g for n, g in shown if n == name), key=lambda g: (-g.share, g.name))
        names = {g.name for g in kept}
        hidden = tuple(sorted(g.name for g in groups if g.share > 0 and g.name not in names))
        out[name] = Disclosure(tuple(kept), k, dominance, hidden)
    return out


def _victim(
    shown: Sequence[tuple[str, Group]], universe: Mapping[str, Cell], exposed: frozenset[str]
) -> tuple[str, Group]:
    """The smallest published group whose suppression puts ``exposed`` out of reach, or
    else the smallest that holds part of it (another round follows)."""
    for candidate in shown:
        rest = [group for pair in shown if pair is not candidate for group in (pair[1],)]
        if not _Reach(rest, universe).reaches(exposed):
            return candidate
    return next((p for p in shown if p[1].cells.keys() & exposed), shown[0])


class _Reach:
    """The sums of cells a reader can compute from the published groups and the whole.

    Cells that every published group either holds or lacks together form one class;
    a union of classes is within reach when its indicator vector lies in the span
    of the groups' vectors and the whole's (exact rational elimination).
    """

    def __init__(self, groups: Sequence[Group], universe: Mapping[str, Cell]) -> None:
        by_signature: dict[tuple[bool, ...], set[str]] = {}
        for key in universe:
            signature = tuple(key in g.cells for g in groups)
            by_signature.setdefault(signature, set()).add(key)
        self.universe = universe
        self.classes = [frozenset(keys) for _, keys in sorted(by_signature.items())]
        self.too_complex = len(self.classes) > MAX_CLASSES
        rows = [[Fraction(1)] * len(self.classes)]  # the whole
        rows += [
            [Fraction(1 if cls & g.cells.keys() else 0) for cls in self.classes] for g in groups
        ]
        self.basis = _echelon(rows)

    def reaches(self, cells: frozenset[str]) -> bool:
        vector = [Fraction(1 if cls <= cells else 0) for cls in self.classes]
        if any(cls & cells and not cls <= cells for cls in self.classes):
            return False  # not a union of classes: no combination isolates it
        return _in_span(vector, self.basis)

    def exposed(self, k: int, dominance: float) -> frozenset[str] | None:
        """A sum within reach that breaks a rule (its cells), or None."""
        n = len(self.classes)
        for size in range(1, n):  # every proper union; the whole is not ours to hide
            for chosen in itertools.combinations(range(n), size):
                cells = frozenset().union(*(self.classes[i] for i in chosen))
                contributions = _by_org(self.universe[c] for c in cells)
                if sensitive(contributions, k, dominance) and self.reaches(cells):
                    return cells
        return None


def _echelon(rows: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Row-reduced rows, each with its pivot column."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        reduced = _reduce(row, basis)
        pivot = next((i for i, x in enumerate(reduced) if x != 0), None)
        if pivot is not None:
            basis.append((pivot, [x / reduced[pivot] for x in reduced]))
    return basis


def _reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    out = list(row)
    for pivot, base in basis:
        if out[pivot] != 0:
            factor = out[pivot]
            out = [x - factor * b for x, b in zip(out, base, strict=True)]
    return out


def _in_span(vector: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> bool:
    return all(x == 0 for x in _reduce(vector, basis))


def _by_org(cells: Iterable[Cell]) -> dict[str, float]:
    out: dict[str, float] = {}
    for cell in cells:
        out[cell.org] = out.get(cell.org, 0.0) + cell.share
    return out
