"""Per-element attribution, coverage, gaps and weakest custody, against hand-computed numbers."""

from __future__ import annotations

import pytest

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedLot, Unopened
from oretrail.domain.model import Custody
from tests.unit.lotgraphs import lid, lot

ROOT = lid("oem", "P1")
A = lid("ref", "A")
B = lid("ref", "B")
M1 = lid("mine", "M1")
M2 = lid("mine", "M2")


def graph_of(*lots: TracedLot, root: str = ROOT) -> LotGraph:
    return LotGraph(root=root, lots={item.id: item for item in lots})


def test_shares_follow_element_mass_not_lot_mass() -> None:
    # 7 t at 32 % Co and 4 t at 19 % Co: 2.24 t and 0.76 t of the 3.00 t Co.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.30}, inputs=((M1, 7000), (M2, 4000))),
        lot(M1, contents={"Co": 0.32}),
        lot(M2, contents={"Co": 0.19}),
    )
    result = attribute(graph)
    shares = {o.lot: o.shares["Co"] for o in result.origins}
    assert shares[M1] == pytest.approx(2.24 / 3.00)
    assert shares[M2] == pytest.approx(0.76 / 3.00)
    assert result.coverage["Co"] == pytest.approx(1.0)
    assert result.approximate == frozenset()


def test_shares_multiply_along_paths_and_add_over_paths() -> None:
    # Root takes Ni from A (60 kg Ni) and B (40 kg Ni); A is all M1; B is half M1, half M2.
    # A and B: 250 kg x 20 % = 50 kg Ni each, from 100 kg of ore at 50 %: balanced.
    graph = graph_of(
        lot(ROOT, contents={"Ni": 0.1}, inputs=((A, 300), (B, 200))),
        lot(A, contents={"Ni": 0.2}, inputs=((M1, 100),), quantity_kg=250),
        lot(B, contents={"Ni": 0.2}, inputs=((M1, 50), (M2, 50)), quantity_kg=250),
        lot(M1, contents={"Ni": 0.5}),
        lot(M2, contents={"Ni": 0.5}),
    )
    shares = {o.lot: o.shares["Ni"] for o in attribute(graph).origins}
    assert shares[M1] == pytest.approx(0.6 + 0.4 * 0.5)
    assert shares[M2] == pytest.approx(0.4 * 0.5)


def test_each_element_is_attributed_separately() -> None:
    # Co all from M1, Li all from M2, although M2 is the heavier input.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.05, "Li": 0.05}, inputs=((M1, 100), (M2, 900))),
        lot(M1, contents={"Co": 0.5}),
        lot(M2, contents={"Li": 0.06}),
    )
    origins = {o.lot: o.shares for o in attribute(graph).origins}
    assert origins[M1] == {"Co": pytest.approx(1.0), "Li": pytest.approx(0.0)}
    assert origins[M2] == {"Co": pytest.approx(0.0), "Li": pytest.approx(1.0)}


def test_unknown_contents_fall_back_to_mass_shares_marked_approximate() -> None:
    # The root's own content is unknown too, so only mass is left to go by: 300 : 100.
    graph = graph_of(
        lot(ROOT, contents=None, inputs=((M1, 300), (M2, 100))),
        lot(M1, contents={"Co": 0.5}),
        lot(M2, contents=None),
    )
    result = attribute(graph)
    origins = {o.lot: o for o in result.origins}
    assert origins[M1].shares["Co"] == pytest.approx(0.75)
    assert origins[M2].shares["Co"] == pytest.approx(0.25)
    assert origins[M1].approximate == frozenset({"Co"})
    assert result.approximate == frozenset({"Co"})


def test_unknown_contents_of_one_input_make_the_lot_fall_back_to_mass_shares() -> None:
    # Root: 1,000 kg at 10 % Co. M1's 300 kg hold 20 % Co; A and B do not say. Their
    # contents are not read as zero: the three share by mass, 300 : 300 : 100, approximate.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1}, inputs=((M1, 300), (A, 300), (B, 100))),
        lot(M1, contents={"Co": 0.2}),
        lot(A, contents=None),
        lot(B, contents=None),
    )
    result = attribute(graph)
    shares = {o.lot: o.shares["Co"] for o in result.origins}
    assert shares == {M1: pytest.approx(3 / 7), A: pytest.approx(3 / 7), B: pytest.approx(1 / 7)}
    assert result.approximate == frozenset({"Co"})


def test_an_input_known_to_hold_none_of_an_element_gets_none_in_the_fallback() -> None:
    # M2 declares no Co (a lithium input): only M1 (300 kg) and unknown A (100 kg) share.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1}, inputs=((M1, 300), (M2, 600), (A, 100))),
        lot(M1, contents={"Co": 0.2}),
        lot(M2, contents={"Li": 0.05}),
        lot(A, contents=None),
    )
    shares = {o.lot: o.shares["Co"] for o in attribute(graph).origins}
    assert shares == {M1: pytest.approx(0.75), M2: 0.0, A: pytest.approx(0.25)}


def test_equal_shares_when_masses_are_withheld_too() -> None:
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1}, inputs=((M1, None), (M2, 600))),
        lot(M1, contents={"Co": 0.2}),
        lot(M2, contents=None),
    )
    shares = {o.lot: o.shares["Co"] for o in attribute(graph).origins}
    assert shares == {M1: pytest.approx(0.5), M2: pytest.approx(0.5)}


def test_a_gap_carries_the_share_behind_it_and_lowers_coverage() -> None:
    # Root: 1,000 kg at 10 % Co = 100 kg; M1 explains 600 kg x 10 % = 60 kg; A holds the rest.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1}, inputs=((M1, 600), (A, 400))),
        lot(M1, contents={"Co": 0.1}),
    )
    graph.unopened[A] = Unopened(A, "ref", GapReason.UNREACHABLE, "connection refused")
    result = attribute(graph)
    assert [g.lot for g in result.gaps] == [A]
    assert result.gaps[0].reason is GapReason.UNREACHABLE
    assert result.gaps[0].shares["Co"] == pytest.approx(0.4)
    assert result.coverage["Co"] == pytest.approx(0.6)


def test_a_cycle_becomes_a_gap_and_does_not_loop() -> None:
    # Every lot 100 kg at 10 % Co; B takes half from A (back up the chain), half from M1.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1}, inputs=((A, 100),), quantity_kg=100),
        lot(A, contents={"Co": 0.1}, inputs=((B, 100),), quantity_kg=100),
        lot(B, contents={"Co": 0.1}, inputs=((A, 50), (M1, 50)), quantity_kg=100),
        lot(M1, contents={"Co": 0.1}),
    )
    result = attribute(graph)
    cycle = [g for g in result.gaps if g.reason is GapReason.CYCLE]
    assert len(cycle) == 1
    assert cycle[0].lot == A
    assert cycle[0].via == B
    assert cycle[0].shares["Co"] == pytest.approx(0.5)
    assert result.coverage["Co"] == pytest.approx(0.5)


def test_an_element_no_input_declares_is_an_unsupported_claim() -> None:
    # 500 kg at 10 % Co = 50 kg, all from 100 kg at 50 %; its 5 % Mn has no source at all.
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.1, "Mn": 0.05}, inputs=((M1, 100),), quantity_kg=500),
        lot(M1, contents={"Co": 0.5}),
    )
    result = attribute(graph)
    [gap] = result.gaps
    assert (gap.lot, gap.reason) == (ROOT, GapReason.UNSUPPORTED_CLAIM)
    assert gap.shares == {"Co": 0.0, "Mn": pytest.approx(1.0)}
    assert result.coverage == {"Co": pytest.approx(1.0), "Mn": pytest.approx(0.0)}


def test_each_origin_gets_the_weakest_custody_on_any_of_its_paths() -> None:
    graph = graph_of(
        lot(
            ROOT,
            contents={"Co": 0.1},
            inputs=((A, 100), (B, 100)),
            custody=Custody.IDENTITY_PRESERVED,
        ),
        lot(A, contents={"Co": 0.1}, inputs=((M1, 100),), custody=Custody.SEGREGATED),
        lot(B, contents={"Co": 0.1}, inputs=((M1, 50), (M2, 50)), custody=Custody.MASS_BALANCE),
        lot(M1, contents={"Co": 0.1}, custody=Custody.IDENTITY_PRESERVED),
        lot(M2, contents={"Co": 0.1}, custody=Custody.CONTROLLED_BLENDING),
    )
    custody = {o.lot: o.custody for o in attribute(graph).origins}
    assert custody == {M1: Custody.MASS_BALANCE, M2: Custody.MASS_BALANCE}


def test_an_unopened_root_is_one_gap_holding_everything() -> None:
    graph = LotGraph(root=ROOT)
    graph.unopened[ROOT] = Unopened(ROOT, "oem", GapReason.TIMEOUT, "slow")
    result = attribute(graph)
    assert [g.reason for g in result.gaps] == [GapReason.TIMEOUT]
    assert result.origins == []
