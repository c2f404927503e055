"""The hand-computed cases of ../shared/cases on the pure domain: values by hand, in comments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedLot
from oretrail.domain.model import Activity, TransitPoint
from oretrail.domain.risks import Check, RiskKind, RiskPolicy, assess_risks, unchecked
from tests.unit.lotgraphs import EXTRACTION, lid, lot, site

DAY = date(2026, 11, 26)
LUALABA = ("CD", "Lualaba")
POLICY = RiskPolicy(as_of=DAY, cahra_regions={LUALABA})


def graph_of(root: str, *lots: TracedLot) -> LotGraph:
    return LotGraph(root=root, lots={item.id: item for item in lots})


def risks_of(graph: LotGraph) -> dict[tuple[RiskKind, str | None], dict[str, float]]:
    risks = assess_risks(graph, attribute(graph), {}, POLICY)
    return {(r.kind, r.lot): dict(r.shares) for r in risks}


# -- sample-lithium-claim-exceeds-supply -------------------------------------------------

PACK = lid("pack", "P")
CONVERTER = lid("coastal", "LH")
SPODUMENE = lid("yilgarn", "SC6")


def test_a_claim_beyond_what_the_inputs_supply_is_an_unsupported_claim_gap() -> None:
    # LH claims 10 t x 16.5 % = 1,650 kg Li; 40.5 t SC6 x 2.79 % = 1,129.95 kg supplied.
    # The pack (Li 1 %, 100 kg of 10 t) takes 606.06 kg of LH = 100 kg Li: balanced.
    graph = graph_of(
        PACK,
        lot(PACK, contents={"Li": 0.01}, inputs=((CONVERTER, 10000 / 16.5),), quantity_kg=10000),
        lot(CONVERTER, contents={"Li": 0.165}, inputs=((SPODUMENE, 40500),), quantity_kg=10000),
        lot(SPODUMENE, contents={"Li": 0.0279}, quantity_kg=40500),
    )
    result = attribute(graph)
    assert result.coverage["Li"] == pytest.approx(1129.95 / 1650)  # 68.48 %
    [gap] = result.gaps
    assert (gap.lot, gap.reason) == (CONVERTER, GapReason.UNSUPPORTED_CLAIM)
    assert gap.shares["Li"] == pytest.approx(520.05 / 1650)  # 31.52 %
    assert "claims 1,650.00 kg but its inputs supply 1,129.95 kg" in gap.detail
    flags = risks_of(graph)
    assert (RiskKind.MASS_BALANCE, CONVERTER) in flags
    assert flags[(RiskKind.LOW_COVERAGE, None)]["Li"] == pytest.approx(520.05 / 1650)


def test_a_claim_within_the_tolerance_is_attributed_in_full() -> None:
    # 1,650 kg claimed from 1,620 kg supplied is 1.85 % over: inside the 2 % tolerance.
    graph = graph_of(
        CONVERTER,
        lot(CONVERTER, contents={"Li": 0.165}, inputs=((SPODUMENE, 40000),), quantity_kg=10000),
        lot(SPODUMENE, contents={"Li": 0.0405}, quantity_kg=40000),
    )
    result = attribute(graph)
    assert result.coverage["Li"] == pytest.approx(1.0)
    assert result.gaps == []


# -- withheld-contents-with-yield-loss ---------------------------------------------------

CAM = lid("cam", "CAM")
VISIBLE = lid("refiner", "CS")
HIDDEN = lid("hidden", "HS")
MINE = lid("cuco", "ORE")
ASM = lid("asm", "ORE")


def yield_loss_graph(cam_cobalt: float) -> LotGraph:
    """Pack 8 t at 2 % Co takes 4 t of CAM; CAM takes 2 t CS (21 % Co, from a Cu-Co mine)
    and 1.5 t HS (contents withheld, from an artisanal CAHRA site)."""
    hidden = replace(
        lot(HIDDEN, contents=None, inputs=((ASM, 1050),), quantity_kg=1500),
        withheld=frozenset({"contents"}),
    )
    asm_site = site("asm", EXTRACTION, country="CD", region="Lualaba", artisanal=True, cahra=True)
    return graph_of(
        PACK,
        lot(PACK, contents={"Co": 0.02}, inputs=((CAM, 4000),), quantity_kg=8000),
        lot(
            CAM,
            contents={"Co": cam_cobalt},
            inputs=((VISIBLE, 2000), (HIDDEN, 1500)),
            quantity_kg=10000,
        ),
        lot(VISIBLE, contents={"Co": 0.21}, inputs=((MINE, 1400),), quantity_kg=2000),
        hidden,
        lot(MINE, contents={"Co": 0.30}, quantity_kg=1400),
        lot(ASM, contents={"Co": 0.30}, quantity_kg=1050, facility=asm_site),
    )


@pytest.mark.parametrize("cam_cobalt", [0.04, 0.05])
def test_withheld_contents_fall_back_to_mass_shares_and_never_read_as_zero(
    cam_cobalt: float,
) -> None:
    # Mass shares at CAM: 2 t / 3.5 t = 57.14 % mine, 1.5 t / 3.5 t = 42.86 % artisanal,
    # whatever CAM claims (4 % = 400 kg with a yield loss, or 5 %).
    graph = yield_loss_graph(cam_cobalt)
    result = attribute(graph)
    origins = {o.lot: o for o in result.origins}
    assert origins[MINE].shares["Co"] == pytest.approx(2 / 3.5)
    assert origins[ASM].shares["Co"] == pytest.approx(1.5 / 3.5)
    assert origins[MINE].approximate == origins[ASM].approximate == frozenset({"Co"})
    assert result.coverage["Co"] == pytest.approx(1.0)
    flags = risks_of(graph)
    assert flags[(RiskKind.CAHRA_ORIGIN, ASM)]["Co"] == pytest.approx(1.5 / 3.5)
    assert flags[(RiskKind.ASM_ORIGIN, ASM)]["Co"] == pytest.approx(1.5 / 3.5)
    cahra = next(
        r for r in assess_risks(graph, result, {}, POLICY) if r.kind is RiskKind.CAHRA_ORIGIN
    )
    assert "the product takes about 42.9% of its Co from it" in cahra.evidence
    reasons = {(u.check, u.lot): u.reason for u in unchecked(graph, {}, POLICY)}
    assert reasons[(Check.MASS_BALANCE, CAM)] == f"the contents of input {HIDDEN} are withheld"
    assert reasons[(Check.MASS_BALANCE, HIDDEN)] == "its contents are withheld"


# -- trader-lot-without-inputs -----------------------------------------------------------

SULFATE = lid("refiner", "CS-P")
RECYCLED = lid("recycler", "CSR")
YARD_LOT = lid("trader", "CH")
BLACK_MASS = lid("recycler", "BM")


def test_a_trader_lot_without_inputs_is_an_undeclared_inputs_gap_not_an_origin() -> None:
    # CAM: 2.4 t primary + 0.5 t recycled sulfate, both 21 % Co: 2.4/2.9 = 82.8 % primary.
    # The primary sulfate's only input is the trader's hydroxide (1.68 t x 30 % = 504 kg),
    # which declares no inputs at a trading yard; the recycled one is all black mass.
    yard = site("trader", {Activity.TRADING_STORAGE}, country="CD", region="Haut-Katanga")
    collection = site("recycler", {Activity.SCRAP_COLLECTION, Activity.PROCESSING_REFINING})
    graph = graph_of(
        CAM,
        lot(
            CAM,
            contents={"Co": 0.0609},
            inputs=((SULFATE, 2400), (RECYCLED, 500)),
            quantity_kg=10000,
        ),
        lot(SULFATE, contents={"Co": 0.21}, inputs=((YARD_LOT, 1680),), quantity_kg=2400),
        lot(RECYCLED, contents={"Co": 0.21}, inputs=((BLACK_MASS, 1312.5),), quantity_kg=500),
        lot(YARD_LOT, contents={"Co": 0.30}, quantity_kg=1680, facility=yard),
        lot(BLACK_MASS, contents={"Co": 0.08}, quantity_kg=1312.5, facility=collection),
    )
    result = attribute(graph)
    [gap] = result.gaps
    assert (gap.lot, gap.reason) == (YARD_LOT, GapReason.UNDECLARED_INPUTS)
    assert gap.shares["Co"] == pytest.approx(2.4 / 2.9)  # 82.8 %
    assert "neither extracts nor collects scrap" in gap.detail
    assert [o.lot for o in result.origins] == [BLACK_MASS]
    assert result.coverage["Co"] == pytest.approx(0.5 / 2.9)  # 17.2 %
    assert (RiskKind.LOW_COVERAGE, None) in risks_of(graph)


def test_a_lot_without_inputs_whose_activities_are_withheld_is_a_withheld_gap() -> None:
    hidden_site = replace(lot(MINE, contents={"Co": 0.3}), withheld=frozenset({"origin"}))
    graph = graph_of(CAM, lot(CAM, contents={"Co": 0.3}, inputs=((MINE, 1000),)), hidden_site)
    [gap] = attribute(graph).gaps
    assert (gap.lot, gap.reason, gap.shares) == (MINE, GapReason.WITHHELD, {"Co": 1.0})


# -- over-allocation-inside-one-trace ----------------------------------------------------


def test_links_to_one_lot_add_up_and_over_allocation_is_flagged_in_the_trace() -> None:
    # Black mass BM holds 20 t; CSR takes 12 t and NSR 10 t of it: 22,000 kg of 20,000 kg.
    nsr = lid("recycler", "NSR")
    graph = graph_of(
        CAM,
        lot(CAM, contents={"Co": 0.01}, inputs=((RECYCLED, 500), (nsr, 500))),
        lot(RECYCLED, contents={"Co": 0.02}, inputs=((BLACK_MASS, 12000),), quantity_kg=500),
        lot(nsr, contents={"Co": 0.0}, inputs=((BLACK_MASS, 10000),), quantity_kg=500),
        lot(BLACK_MASS, contents={"Co": 0.08}, quantity_kg=20000),
    )
    risks = assess_risks(graph, attribute(graph), {}, POLICY)
    [flag] = [r for r in risks if r.kind is RiskKind.OVER_ALLOCATION]
    assert flag.lot == BLACK_MASS
    assert "holds 20,000 kg but the links seen in this trace consume 22,000 kg" in flag.evidence


def test_two_deliveries_of_one_lot_are_two_consumptions() -> None:
    # P1 (5 t) lists X1 twice, 3 t and 2 t; X1 holds 1.9 t, then 4 t: over-allocated both times.
    x1 = lid("cell-x", "X1")
    for held in (1900.0, 4000.0):
        graph = graph_of(
            PACK,
            lot(PACK, contents={"Co": 0.1}, inputs=((x1, 3000), (x1, 2000)), quantity_kg=5000),
            lot(x1, contents={"Co": 0.1}, quantity_kg=held),
        )
        result = attribute(graph)
        assert result.coverage["Co"] == pytest.approx(1.0)
        risks = assess_risks(graph, result, {}, POLICY)
        [flag] = [r for r in risks if r.kind is RiskKind.OVER_ALLOCATION]
        assert f"holds {held:,.0f} kg but the links seen in this trace consume 5,000 kg" in (
            flag.evidence
        )


# -- transit-through-a-cahra -------------------------------------------------------------


def test_material_through_a_facility_in_a_listed_region_is_flagged_with_its_share() -> None:
    # The yard blends 7 t at 32 % Co (2.24 t) and 4 t at 19 % (0.76 t); it sits in Lualaba.
    yard = site("trader", {Activity.TRADING_STORAGE}, country="CD", region="Lualaba")
    graph = graph_of(
        CAM,
        lot(
            CAM,
            contents={"Co": 0.0609},
            inputs=((YARD_LOT, 10000 * 0.0609 / 0.3),),
            quantity_kg=10000,
        ),
        lot(
            YARD_LOT,
            contents={"Co": 0.30},
            inputs=((MINE, 7000), (ASM, 4000)),
            quantity_kg=10000,
            facility=yard,
        ),
        lot(MINE, contents={"Co": 0.32}, quantity_kg=7000),
        lot(ASM, contents={"Co": 0.19}, quantity_kg=4000),
    )
    flags = risks_of(graph)
    assert flags[(RiskKind.CAHRA_TRANSIT, YARD_LOT)]["Co"] == pytest.approx(1.0)


def test_a_shipment_transit_point_in_a_listed_region_is_flagged() -> None:
    # The mine's ore (half of the CAM's Co) was trucked through Lualaba.
    shipped = replace(
        lot(MINE, contents={"Co": 0.1}),
        transit=(TransitPoint("ZM", "Copperbelt"), TransitPoint(*LUALABA)),
    )
    graph = graph_of(
        CAM,
        lot(CAM, contents={"Co": 0.1}, inputs=((MINE, 500), (ASM, 500))),
        shipped,
        lot(ASM, contents={"Co": 0.1}),
    )
    flags = risks_of(graph)
    assert list(flags) == [(RiskKind.CAHRA_TRANSIT, MINE)]
    assert flags[(RiskKind.CAHRA_TRANSIT, MINE)]["Co"] == pytest.approx(0.5)


def test_withheld_transit_points_are_listed_as_not_checked() -> None:
    hidden = replace(lot(MINE, contents={"Co": 0.1}), transit=None, withheld=frozenset({"origin"}))
    graph = graph_of(CAM, lot(CAM, contents={"Co": 0.1}, inputs=((MINE, 1000),)), hidden)
    checks = {(u.check, u.lot) for u in unchecked(graph, {}, POLICY)}
    assert (Check.CAHRA_TRANSIT, MINE) in checks


# -- audits on the production date -------------------------------------------------------


def test_a_recyclers_refining_needs_an_audit_valid_on_the_production_date() -> None:
    plant = site("recycler", {Activity.SCRAP_COLLECTION, Activity.PROCESSING_REFINING})
    recycled = replace(
        lot(RECYCLED, contents={"Co": 0.1}, inputs=((BLACK_MASS, 1000),), facility=plant),
        produced_at=date(2026, 2, 12),
    )
    graph = graph_of(RECYCLED, recycled, lot(BLACK_MASS, contents={"Co": 0.1}, facility=plant))
    flags = risks_of(graph)
    assert (RiskKind.UNAUDITED_PROCESSOR, RECYCLED) in flags
    assert (RiskKind.UNAUDITED_PROCESSOR, BLACK_MASS) in flags
