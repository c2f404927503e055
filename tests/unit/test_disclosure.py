"""k-anonymity with complementary suppression, on hand-made groups."""

from __future__ import annotations

import random

import pytest

from oretrail.domain.disclosure import Group, disclose


def group(name: str, share: float, *orgs: str) -> Group:
    return Group(name, share, frozenset(orgs))


def test_groups_of_at_least_k_organisations_are_shown() -> None:
    result = disclose([group("CD", 0.8, "a", "b"), group("NO", 0.2, "c", "d")], k=2)
    assert [(g.name, g.share) for g in result.shown] == [("CD", 0.8), ("NO", 0.2)]
    assert result.suppressed == 0
    assert result.residual == pytest.approx(0.0)


def test_a_small_group_takes_the_smallest_other_group_with_it() -> None:
    # ID (one refiner) alone would be recoverable as 1 - CD - AU; so AU goes too.
    result = disclose(
        [group("CD", 0.6, "a", "b"), group("AU", 0.3, "c", "d"), group("ID", 0.1, "e")], k=2
    )
    assert [g.name for g in result.shown] == ["CD"]
    assert result.suppressed == 2
    assert result.residual == pytest.approx(0.4)  # AU + ID together: three organisations


def test_the_residual_is_withheld_when_even_everything_hidden_is_too_few() -> None:
    result = disclose([group("ASM", 0.2, "coop"), group("NOT_ASM", 0.8, "mine")], k=3)
    assert result.shown == ()
    assert result.suppressed == 2
    assert result.residual is None


def test_k_of_one_shows_everything() -> None:
    result = disclose([group("X", 0.5, "a"), group("Y", 0.5, "b")], k=1)
    assert result.suppressed == 0


def test_no_published_figure_ever_isolates_fewer_than_k_organisations() -> None:
    rng = random.Random(5)
    for _ in range(500):
        k = rng.randint(2, 4)
        groups = []
        for n in range(rng.randint(1, 6)):
            orgs = {f"o{rng.randint(0, 9)}" for _ in range(rng.randint(1, 4))}
            groups.append(group(f"g{n}", rng.random(), *orgs))
        total = sum(g.share for g in groups)
        groups = [group(g.name, g.share / total, *g.contributors) for g in groups]
        result = disclose(groups, k)
        hidden = [g for g in groups if g.name not in {s.name for s in result.shown}]
        assert all(len(g.contributors) >= k for g in result.shown)
        if hidden and result.residual is not None:
            behind = set().union(*(g.contributors for g in hidden))
            assert len(behind) >= k
