"""A battery's carbon footprint rolled up from its lots' declared footprints, with units."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from oretrail.domain.attribution import Attribution
from oretrail.domain.lotgraph import LotGraph, TracedInput, TracedLot
from oretrail.domain.model import Custody
from oretrail.standards.battery_pass import battery_passport
from oretrail.standards.battery_pass_footprint import roll_up
from oretrail.standards.dpp_sources import Party, TracedProduct

L = "urn:oretrail:lot:"
PACK, CELLS, CAM, ANODE = (f"{L}nordvolt:P1", f"{L}aurora:C1", f"{L}helios:CAM1", f"{L}terra:AN1")


def lot(
    lot_id: str, kg: float, footprint: float | None, unit: str | None, **extra: object
) -> TracedLot:
    return TracedLot(
        id=lot_id,
        owner=lot_id.split(":")[3],
        material=lot_id.rsplit(":", 1)[-1],
        quantity_kg=kg,
        contents=None,
        custody=Custody.SEGREGATED,
        produced_at=date(2026, 5, 1),
        carbon_footprint=footprint,
        carbon_footprint_unit=unit,
        **extra,  # type: ignore[arg-type]
    )


def sample_graph(anode: TracedLot | None = None) -> LotGraph:
    """The sample pack's chain with the footprints its owners declare; the anode declares
    5.0 kgCO2e/kg here (the sample's declares none)."""
    graph = LotGraph(PACK)
    graph.lots[PACK] = lot(
        PACK, 22_500, 72.0, "kgCO2e/kWh", rated_capacity_kwh=3750.0,
        inputs=(TracedInput(CELLS, "aurora", 13_500),),
    )  # fmt: skip
    graph.lots[CELLS] = lot(
        CELLS, 13_500, 61.0, "kgCO2e/kWh", rated_capacity_kwh=3750.0,
        inputs=(TracedInput(CAM, "helios", 4_050), TracedInput(ANODE, "terra", 2_200)),
    )  # fmt: skip
    graph.lots[CAM] = lot(CAM, 10_000, 18.7, "kgCO2e/kg")
    graph.lots[ANODE] = anode or lot(ANODE, 30_000, 5.0, "kgCO2e/kg")
    return graph


def product(graph: LotGraph) -> TracedProduct:
    return TracedProduct(
        graph, Attribution(elements=()), "rec-1", Party("nordvolt", "Nordvolt"), {}
    )


def test_every_path_reaching_a_material_splits_raw_materials_from_production() -> None:
    rollup = roll_up(product(sample_graph()))
    # The pack: 72.0 kgCO2e/kWh x 3,750 kWh = 270,000 kgCO2e.
    assert rollup.absolute_kg == pytest.approx(270_000)
    assert rollup.per_kwh == pytest.approx(72.0)
    brought: dict[str, tuple[object, ...]] = {
        c.lot: (c.share_of_lot, c.kg_co2e, c.material) for c in rollup.contributions
    }
    # Cells: all 13.5 t of 13.5 t consumed: 61.0 x 3,750 = 228,750 kgCO2e.
    assert brought[CELLS] == (pytest.approx(1.0), pytest.approx(228_750), False)
    # CAM: 4.05 t of 10 t = 0.405 of 18.7 x 10,000 kg = 187,000 -> 75,735 kgCO2e.
    assert brought[CAM] == (pytest.approx(0.405), pytest.approx(75_735), True)
    # Anode: 2.2 t of 30 t = 0.07333 of 5.0 x 30,000 kg = 150,000 -> 11,000 kgCO2e.
    assert brought[ANODE] == (pytest.approx(2.2 / 30), pytest.approx(11_000), True)
    # Raw-material stage: 75,735 + 11,000 = 86,735 kgCO2e.
    assert rollup.raw_materials_kg == pytest.approx(86_735)
    assert rollup.not_rolled_up == []


def test_the_passport_states_the_stages_per_kwh() -> None:
    passport = battery_passport(product(sample_graph()), datetime(2026, 11, 26, tzinfo=UTC))
    footprint = passport["credentialSubject"]["carbonFootprint"]
    # 86,735 / 3,750 = 23.129333 kgCO2e/kWh from raw materials; 72.0 - 23.129333 = 48.870667.
    assert footprint == {
        "batteryCarbonFootprint": pytest.approx(72.0),
        "carbonFootprintPerLifecycleStage": [
            {
                "lifecycleStage": "RawMaterialExtraction",
                "carbonFootprint": pytest.approx(23.129333),
            },
            {"lifecycleStage": "MainProduction", "carbonFootprint": pytest.approx(48.870667)},
        ],
        "absoluteCarbonFootprint": pytest.approx(270_000),
    }


def test_a_withheld_footprint_is_named_and_the_stages_are_not_split() -> None:
    hidden = replace(lot(ANODE, 30_000, None, None), withheld=frozenset({"emissions"}))
    subject = battery_passport(product(sample_graph(hidden)), datetime(2026, 11, 26, tzinfo=UTC))[
        "credentialSubject"
    ]
    assert subject["carbonFootprint"]["carbonFootprintPerLifecycleStage"] == []
    assert subject["carbonFootprintRollup"]["notRolledUp"] == [
        {"lot": ANODE, "owner": "terra", "reason": "terra withholds its footprint from the caller"}
    ]


def test_a_battery_declaring_no_footprint_has_no_carbon_footprint_aspect() -> None:
    graph = sample_graph()
    graph.lots[PACK] = replace(graph.lots[PACK], carbon_footprint=None, carbon_footprint_unit=None)
    subject = battery_passport(product(graph), datetime(2026, 11, 26, tzinfo=UTC))[
        "credentialSubject"
    ]
    assert "carbonFootprint" not in subject
    assert subject["notCovered"]["carbonFootprint"] == [
        "the whole aspect: the battery declares no footprint"
    ]


def test_a_footprint_per_kg_of_a_battery_converts_to_per_kwh() -> None:
    graph = sample_graph()
    # 12.0 kgCO2e/kg x 22,500 kg = 270,000 kgCO2e over 3,750 kWh = 72.0 kgCO2e/kWh.
    graph.lots[PACK] = replace(
        graph.lots[PACK], carbon_footprint=12.0, carbon_footprint_unit="kgCO2e/kg"
    )
    rollup = roll_up(product(graph))
    assert rollup.per_kwh == pytest.approx(72.0)
    # A battery declared per kg is not split into stages: its boundary is not battery production.
    assert rollup.contributions == []


def test_a_lot_without_a_rated_capacity_has_no_footprint_per_kwh() -> None:
    graph = sample_graph()
    graph.lots[PACK] = replace(
        graph.lots[PACK], carbon_footprint=12.0, carbon_footprint_unit="kgCO2e/kg",
        rated_capacity_kwh=None,
    )  # fmt: skip
    subject = battery_passport(product(graph), datetime(2026, 11, 26, tzinfo=UTC))[
        "credentialSubject"
    ]
    assert subject["notCovered"]["carbonFootprint"] == [
        "the whole aspect: the lot states no rated capacity in kWh (the functional unit)"
    ]
