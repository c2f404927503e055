"""The share of each element that passes along each link (what the viewer's Sankey draws)."""

from __future__ import annotations

import pytest

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import LotGraph, TracedLot
from tests.unit.lotgraphs import lid, lot

ROOT = lid("oem", "P1")
A = lid("ref", "A")
B = lid("ref", "B")
M1 = lid("mine", "M1")
M2 = lid("mine", "M2")


def graph_of(*lots: TracedLot) -> LotGraph:
    return LotGraph(root=ROOT, lots={item.id: item for item in lots})


def test_each_link_carries_the_share_that_passed_along_it_per_element() -> None:
    # Root takes Ni from A (300 kg x 20 % = 60 kg) and B (200 kg x 20 % = 40 kg): 0.6 and
    # 0.4. A is all M1 (0.6); B is half M1, half M2 (50 kg x 50 % each): 0.2 and 0.2. M1
    # reaches the root by two links whose figures add up to its share: 0.6 + 0.2 = 0.8.
    graph = graph_of(
        lot(ROOT, contents={"Ni": 0.1}, inputs=((A, 300), (B, 200))),
        lot(A, contents={"Ni": 0.2}, inputs=((M1, 100),), quantity_kg=250),
        lot(B, contents={"Ni": 0.2}, inputs=((M1, 50), (M2, 50)), quantity_kg=250),
        lot(M1, contents={"Ni": 0.5}),
        lot(M2, contents={"Ni": 0.5}),
    )
    result = attribute(graph)
    flows = {pair: shares["Ni"] for pair, shares in result.flows.items()}
    assert flows == pytest.approx(
        {(ROOT, A): 0.6, (ROOT, B): 0.4, (A, M1): 0.6, (B, M1): 0.2, (B, M2): 0.2}
    )
    m1 = next(o for o in result.origins if o.lot == M1)
    assert flows[A, M1] + flows[B, M1] == pytest.approx(m1.shares["Ni"])


def test_a_link_carries_none_of_an_element_its_input_does_not_hold() -> None:
    # Co all from M1 (100 kg x 50 %), Li all from M2 (900 kg x 6 %).
    graph = graph_of(
        lot(ROOT, contents={"Co": 0.05, "Li": 0.05}, inputs=((M1, 100), (M2, 900))),
        lot(M1, contents={"Co": 0.5}),
        lot(M2, contents={"Li": 0.06}),
    )
    flows = attribute(graph).flows
    assert flows[ROOT, M1] == pytest.approx({"Co": 1.0, "Li": 0.0})
    assert flows[ROOT, M2] == pytest.approx({"Co": 0.0, "Li": 1.0})
