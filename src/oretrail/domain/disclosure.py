"""Statistical disclosure control for transparency answers: k-anonymity with complements.

A group built from fewer than ``k`` contributing organisations is suppressed.
Because the shown shares and the residual add up to the whole, one suppressed
group could be recovered by subtraction; so more groups are suppressed, smallest
first, until everything suppressed together comes from at least ``k``
organisations. Only then is the residual (suppressed plus unknown) published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Disclosure", "Group", "disclose"]


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    share: float
    contributors: frozenset[str]


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What may be published of a set of groups."""

    shown: tuple[Group, ...]
    suppressed: int
    # Share not shown (suppressed groups plus anything unattributed), or None when
    # publishing it would let someone recover a group of fewer than k organisations.
    residual: float | None
    k: int
    names_suppressed: tuple[str, ...] = field(default=(), repr=False)


def disclose(groups: Iterable[Group], k: int) -> Disclosure:
    """Publishable groups, suppressing small ones and their complements."""
    if k < 1:
        raise ValueError("k must be at least 1")
    candidates = [g for g in groups if g.share > 0 or g.contributors]
    shown = sorted((g for g in candidates if len(g.contributors) >= k), key=_size)
    hidden = [g for g in candidates if len(g.contributors) < k]
    while hidden and shown and len(_union(hidden)) < k:
        hidden.append(shown.pop(0))  # complementary suppression, smallest share first
    total_shown = sum(g.share for g in shown)
    safe = not hidden or len(_union(hidden)) >= k
    residual = max(0.0, 1.0 - total_shown) if safe else None
    shown.sort(key=lambda g: (-g.share, g.name))
    return Disclosure(tuple(shown), len(hidden), residual, k, tuple(sorted(g.name for g in hidden)))


def _size(group: Group) -> tuple[float, str]:
    return (group.share, group.name)


def _union(groups: Iterable[Group]) -> set[str]:
    out: set[str] = set()
    for group in groups:
        out |= group.contributors
    return out
