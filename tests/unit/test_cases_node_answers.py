"""The hand-computed cases about node answers and units (../shared/cases), at unit level.

The nodes are seed files served as the node API's JSON and read by the gateway's
own parser (tests/support/seed_nodes.py); the planner and attribution are real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oretrail.config import ResiliencePolicy
from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import GapReason
from oretrail.domain.risks import mass_balance_shortfall
from oretrail.gateway.planner import trace_upstream
from oretrail.gateway.resilience import NodeGuards
from oretrail.store.seed import load_seed_dir
from tests.support.seed_cases import cases_dir
from tests.support.seed_nodes import SeedNodeClient, registry_of_seeds

LOT = "urn:oretrail:lot:"
P1, A1, B1 = f"{LOT}oem-a:P1", f"{LOT}cell-a:A1", f"{LOT}cell-b:B1"
M1, M2 = f"{LOT}mine-m:M1", f"{LOT}mine-m:M2"

Document = dict[str, Any]


def batch_case() -> Path:
    return cases_dir() / "batch-poisoning-timing-dependent" / "seeds"


def malformed_m2(document: Document) -> None:
    """mine-m's record for M2 claims a Co fraction of 1.5; M1's stays sound."""
    for item in document["data"]["lots"]["answers"]:
        if item["id"] == M2:
            item["lot"]["contents"] = [{"element": "Co", "fraction": 1.5}]


def m2_left_out(document: Document) -> None:
    answers = document["data"]["lots"]["answers"]
    answers[:] = [item for item in answers if item["id"] != M2]


async def later(seconds: float) -> None:
    await asyncio.sleep(seconds)


# Run A: every node answers at once. Run B: cell-b answers 0.3 s later. The window
# for siblings (0.1 s) lets run A's M1 wait for M2, and not run B's.
RUNS = {"A": None, "B": 0.3}
POLICY = ResiliencePolicy(coalesce_window=0.1)


@pytest.mark.parametrize("run", sorted(RUNS))
@pytest.mark.parametrize("fault", [malformed_m2, m2_left_out], ids=["malformed", "left-out"])
async def test_case_batch_poisoning_one_bad_lot_is_one_gap_however_batched(
    run: str, fault: Callable[[Document], None]
) -> None:
    seeds = load_seed_dir(batch_case())
    client = SeedNodeClient(seeds)
    client.corrupt["mine-m"] = fault
    delay = RUNS[run]
    if delay is not None:
        client.before["cell-b"] = lambda: later(delay)
    graph = await trace_upstream(
        P1, 10, registry_of_seeds(seeds), client, guard=NodeGuards(POLICY).trace()
    )
    asked = [ids for org, ids in client.calls if org == "mine-m"]
    # The batching differs as the case says: one request in run A, two in run B.
    assert asked == ([(M1, M2)] if run == "A" else [(M1,), (M2,)])
    assert set(graph.lots) == {P1, A1, B1, M1}
    assert set(graph.unopened) == {M2}
    assert graph.unopened[M2].reason is GapReason.INVALID_RESPONSE

    result = attribute(graph)
    # P1: 2 t x 10 % Co = 200 kg; A1 and B1 each give 1 t x 10 % = 100 kg, so half
    # each; A1's Co all comes from M1 (1 t x 10 %), B1's from M2. M1: 50 %; M2: 50 %.
    assert result.coverage["Co"] == pytest.approx(0.5, abs=1e-12)
    [origin] = result.origins
    assert origin.lot == M1
    assert origin.shares["Co"] == pytest.approx(0.5)
    [gap] = result.gaps
    assert (gap.lot, gap.reason) == (M2, GapReason.INVALID_RESPONSE)
    assert gap.shares["Co"] == pytest.approx(0.5)


def unit_case(variant: str) -> Path:
    return cases_dir() / "lot-unit-variant-disables-mass-balance" / "small" / variant / "seeds"


LH1, SC1, CAM = f"{LOT}conv-c:LH1", f"{LOT}mine-y:SC1", f"{LOT}oem-a:P1"


async def test_case_unit_t_the_lot_is_judged_and_fails_its_mass_balance() -> None:
    seeds = load_seed_dir(unit_case("t"))
    graph = await trace_upstream(CAM, 10, registry_of_seeds(seeds), SeedNodeClient(seeds))
    assert set(graph.lots) == {CAM, LH1, SC1}
    lh1 = graph.lots[LH1]
    assert lh1.quantity_kg == 10_000.0  # 10 t
    # Claimed 10 t x 16.5 % = 1,650 kg Li; supplied 40.5 t x 2.79 % = 1,129.95 kg,
    # beyond the 2 % tolerance (1,129.95 x 1.02 = 1,152.55 kg).
    evidence = mass_balance_shortfall(graph, lh1, 0.02)
    assert evidence is not None
    assert "Li: claims 1,650 kg but its inputs supply at most 1,130 kg" in evidence


@pytest.mark.parametrize("unit", ["T", "tonne", "Kg"])
async def test_case_unit_variant_from_a_node_is_a_gap_never_a_silent_pass(unit: str) -> None:
    # A node that sends LH1 in an unlisted unit (its seeds would be refused; another
    # implementation may send it anyway): LH1 is an INVALID_RESPONSE gap naming the unit,
    # never a lot whose balance is quietly left unjudged.
    seeds = load_seed_dir(unit_case("t"))
    client = SeedNodeClient(seeds)

    def respell(document: Document) -> None:
        for item in document["data"]["lots"]["answers"]:
            item["lot"]["quantity"] = replace_unit(item["lot"]["quantity"], unit)

    client.corrupt["conv-c"] = respell
    graph = await trace_upstream(CAM, 10, registry_of_seeds(seeds), client)
    assert set(graph.lots) == {CAM}
    gap = graph.unopened[LH1]
    assert gap.reason is GapReason.INVALID_RESPONSE
    assert f"unit {unit!r} is not one of the mass units 'kg', 't'" in gap.detail


def replace_unit(quantity: dict[str, Any], unit: str) -> dict[str, Any]:
    return {**quantity, "unit": unit}
