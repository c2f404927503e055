"""Threshold, dominance and complementary suppression, on hand-made groups."""

from __future__ import annotations

import random

import pytest

from oretrail.domain.disclosure import Cell, Group, disclose, disclose_all, sensitive


def group(name: str, **parts: float) -> Group:
    """A group of one cell per organisation, each cell its own (``<group>:<org>``)."""
    return Group(name, {f"{name}:{org}": Cell(org, share) for org, share in parts.items()})


def test_groups_of_three_organisations_none_dominant_are_shown() -> None:
    # CD: 0.3 + 0.2 + 0.1 = 0.6, largest 0.3/0.6 = 50 %; NO: 0.4 split 0.2/0.1/0.1.
    result = disclose([group("CD", a=0.3, b=0.2, c=0.1), group("NO", d=0.2, e=0.1, f=0.1)], k=3)
    assert [(g.name, pytest.approx(g.share)) for g in result.shown] == [
        ("CD", pytest.approx(0.6)),
        ("NO", pytest.approx(0.4)),
    ]
    assert result.withheld == ()


def test_a_group_of_two_organisations_is_suppressed_with_its_complement() -> None:
    # NO (two recyclers) fails the threshold; publishing CD alone would give NO as
    # 1 - CD, so CD goes too: nothing is left to publish.
    result = disclose([group("CD", a=0.3, b=0.2, c=0.1), group("NO", d=0.2, e=0.2)], k=3)
    assert result.shown == ()
    assert result.withheld == ("CD", "NO")


def test_a_dominated_group_is_suppressed() -> None:
    # AUDITED: a holds 0.45 of 0.5 = 90 % > 80 %, though three organisations contribute.
    dominated = group("AUDITED", a=0.45, b=0.03, c=0.02)
    assert sensitive(dominated.contributions, 3)
    # Exactly 80 % is allowed: 0.4 of 0.5.
    assert not sensitive(group("X", a=0.4, b=0.05, c=0.05).contributions, 3)
    result = disclose(
        [dominated, group("NOT", d=0.2, e=0.2, f=0.1), group("OTHER", g=0.1, h=0.05, i=0.05)],
        k=3,
    )
    # Hidden AUDITED alone would be 1 - NOT - OTHER: OTHER (the smallest shown, 0.2)
    # joins it; together a 0.45 of 0.7 = 64 % and six organisations: safe.
    assert [g.name for g in result.shown] == ["NOT"]
    assert result.withheld == ("AUDITED", "OTHER")


def test_two_small_groups_together_may_stay_hidden_without_a_complement() -> None:
    # DE (one org, 0.2) and NO (two orgs, 0.1 + 0.1) are both small; their sum, 0.4,
    # comes from three organisations, the largest 0.2/0.4 = 50 %: CD is published.
    result = disclose(
        [group("CD", a=0.3, b=0.2, c=0.1), group("NO", d=0.1, e=0.1), group("DE", f=0.2)], k=3
    )
    assert [g.name for g in result.shown] == ["CD"]
    assert result.withheld == ("DE", "NO")


def test_the_suppressed_sum_must_not_be_dominated_either() -> None:
    # NO (0.05 + 0.05) and DE (0.3, one org): together 0.3 of 0.4 = 75 %, safe;
    # with DE at 0.5 it would be 0.5/0.6 = 83 %: CD must then go too.
    safe = disclose(
        [group("CD", a=0.3, b=0.2, c=0.1), group("NO", d=0.05, e=0.05), group("DE", f=0.3)], k=3
    )
    assert [g.name for g in safe.shown] == ["CD"]
    unsafe = disclose(
        [group("CD", a=0.2, b=0.1, c=0.1), group("NO", d=0.05, e=0.05), group("DE", f=0.5)], k=3
    )
    assert unsafe.shown == ()


def test_nothing_about_suppressed_groups_is_published() -> None:
    result = disclose([group("ASM", coop=0.2), group("NOT_ASM", a=0.4, b=0.3, c=0.1)], k=3)
    assert result.shown == ()
    fields = set(type(result).__dataclass_fields__)
    assert fields == {"shown", "k", "dominance", "withheld"}  # no residual, no counts


def test_no_published_figure_isolates_a_sensitive_set_of_organisations() -> None:
    rng = random.Random(5)
    for _ in range(500):
        k = rng.randint(2, 4)
        groups = []
        for n in range(rng.randint(1, 6)):
            cells = {
                f"g{n}:{c}": Cell(f"o{rng.randint(0, 9)}", rng.random())
                for c in range(rng.randint(1, 5))
            }
            groups.append(Group(f"g{n}", cells))
        result = disclose(groups, k)
        shown = {g.name for g in result.shown}
        hidden = [g for g in groups if g.name not in shown]
        assert all(not sensitive(g.contributions, k) for g in result.shown)
        if hidden and result.shown:
            merged: dict[str, float] = {}
            for g in hidden:
                for org, part in g.contributions.items():
                    merged[org] = merged.get(org, 0.0) + part
            assert not sensitive(merged, k)  # the complement of what is shown is safe


def cells(**parts: float) -> dict[str, Cell]:
    return {key: Cell(key.split("_")[0], share) for key, share in parts.items()}


def test_groupings_over_one_base_are_disclosed_together() -> None:
    # Cobalt of a line as cells: three ASM cooperatives, one industrial mine (k1),
    # three recyclers. By ASM origin: ASM = a1 + a2 + a3, NOT_ASM = k1 + r1 + r2 + r3;
    # by recycled content: POST = r1 + r2 + r3, PRIMARY = a1 + a2 + a3 + k1. Each group
    # passes both rules, yet NOT_ASM - POST = k1, one mine's cobalt.
    base = cells(a1=0.1, a2=0.1, a3=0.1, k1=0.3, r1=0.1, r2=0.15, r3=0.15)
    asm = [Group("ASM", {k: base[k] for k in ("a1", "a2", "a3")})]
    asm.append(Group("NOT_ASM", {k: base[k] for k in ("k1", "r1", "r2", "r3")}))
    recycled = [Group("POST_CONSUMER", {k: base[k] for k in ("r1", "r2", "r3")})]
    recycled.append(Group("PRIMARY", {k: base[k] for k in ("a1", "a2", "a3", "k1")}))
    alone = disclose(asm, k=3)
    assert {g.name for g in alone.shown} == {"ASM", "NOT_ASM"}
    both = disclose_all({"ASM": asm, "RECYCLED": recycled}, k=3)
    # The smallest group whose suppression puts k1 out of reach is POST (0.4); with
    # the whole known, PRIMARY (0.6) alone would give POST back, so it goes too.
    assert {g.name for g in both["ASM"].shown} == {"ASM", "NOT_ASM"}
    assert both["RECYCLED"].shown == ()


def test_sums_within_reach_across_groupings_all_pass_the_rules() -> None:
    rng = random.Random(11)
    for _ in range(200):
        base = {f"c{i}": Cell(f"o{rng.randint(0, 7)}", rng.random()) for i in range(8)}
        groupings = {}
        for name in ("X", "Y"):
            labels = {key: rng.choice("ABC") for key in base}
            groupings[name] = [
                Group(label, {k: base[k] for k, lab in labels.items() if lab == label})
                for label in "ABC"
                if label in labels.values()
            ]
        result = disclose_all(groupings, k=3)
        shown = [g for d in result.values() for g in d.shown]
        # Every published figure, and every difference of two published figures of
        # different groupings that is a sum of cells, passes both rules.
        for a in shown:
            assert not sensitive(a.contributions, 3)
            for b in shown:
                if b.cells.keys() < a.cells.keys():
                    rest = {k: c for k, c in a.cells.items() if k not in b.cells}
                    assert not sensitive(Group("d", rest).contributions, 3)
