"""Statistical disclosure control for transparency answers (DESIGN.md, Trust 5).

Two primary rules, as statistical offices apply them to tables of magnitudes:

- **threshold**: a group is published only if at least ``k`` organisations
  contribute to it (``k`` is at least 3 in every approved query);
- **dominance**: and only if no one organisation contributes more than
  ``dominance`` (80 %) of it, since a dominant contributor could read its
  competitors' small remainder off the figure.

Secondary (complementary) suppression: the shares of one answer add up to the
product line's attributed whole, which its owner knows, so the one figure anyone
can always compute is the sum of the groups not shown. That sum must itself pass
both rules; if it does not, the smallest published group is suppressed too, until
it does or nothing is left. Nothing else is published: no residual, no number of
suppressed groups, no number of contributors (each would name or bound the hidden
groups).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["DOMINANCE", "MIN_K", "Disclosure", "Group", "disclose", "sensitive"]

# The smallest group size any approved query may declare (DESIGN.md, Trust 5).
MIN_K = 3
# No contributor may hold more than this fraction of a published group.
DOMINANCE = 0.80


@dataclass(frozen=True, slots=True)
class Group:
    """One group of an aggregate: its share of the whole and who contributed it.

    ``contributions`` maps each contributing organisation to its part of ``share``
    (same unit: a fraction of the whole); they add up to ``share``.
    """

    name: str
    share: float
    contributions: Mapping[str, float]

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
    """The groups that may be published; raises ValueError for k below 1."""
    if k < 1:
        raise ValueError("k must be at least 1")
    candidates = [g for g in groups if g.share > 0]
    shown = sorted(
        (g for g in candidates if not sensitive(g.contributions, k, dominance)), key=_size
    )
    hidden = [g for g in candidates if sensitive(g.contributions, k, dominance)]
    while hidden and shown and sensitive(_merged(hidden), k, dominance):
        hidden.append(shown.pop(0))  # complementary suppression, smallest share first
    shown.sort(key=lambda g: (-g.share, g.name))
    return Disclosure(tuple(shown), k, dominance, tuple(sorted(g.name for g in hidden)))


def _size(group: Group) -> tuple[float, str]:
    return (group.share, group.name)


def _merged(groups: Iterable[Group]) -> dict[str, float]:
    """The contributions behind the sum of ``groups``."""
    out: dict[str, float] = {}
    for group in groups:
        for org, part in group.contributions.items():
            out[org] = out.get(org, 0.0) + part
    return out
