"""A node's carbon footprint arrives with its unit from the closed list, or the lot is a gap."""

from __future__ import annotations

from typing import Any

import pytest

from oretrail.domain.lotgraph import GapReason
from oretrail.gateway.node_client import parse_lots

LOT = "urn:oretrail:lot:aurora-cells:CELL-1"


def answer(**fields: Any) -> dict[str, Any]:
    lot = {"id": LOT, "owner": "aurora-cells", "facility": None, "inputs": [], **fields}
    found = {"id": LOT, "status": "FOUND", "detail": None, "lot": lot}
    return {"data": {"lots": {"answers": [found], "continuations": []}}}


def test_a_footprint_per_kwh_and_the_rated_capacity_are_read() -> None:
    document = answer(carbonFootprint=61, carbonFootprintUnit="kgCO2e/kWh", ratedCapacityKwh=3750)
    lot = parse_lots("aurora-cells", [LOT], document)[LOT].lot
    assert lot is not None
    assert (lot.carbon_footprint, lot.carbon_footprint_unit, lot.rated_capacity_kwh) == (
        61.0,
        "kgCO2e/kWh",
        3750.0,
    )


def test_a_withheld_footprint_reads_as_unknown() -> None:
    lot = parse_lots("aurora-cells", [LOT], answer())[LOT].lot
    assert lot is not None
    assert (lot.carbon_footprint, lot.carbon_footprint_unit, lot.rated_capacity_kwh) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"carbonFootprint": 61.0}, "carbonFootprintUnit None is not a footprint unit"),
        (
            {"carbonFootprint": 61.0, "carbonFootprintUnit": "tCO2e/t"},
            "carbonFootprintUnit 'tCO2e/t' is not a footprint unit",
        ),
        ({"carbonFootprint": -1, "carbonFootprintUnit": "kgCO2e/kg"}, "is not a number >= 0"),
        ({"ratedCapacityKwh": 0}, "ratedCapacityKwh 0 is not a number > 0"),
    ],
)
def test_a_figure_without_a_known_unit_makes_that_lot_a_gap(
    fields: dict[str, Any], problem: str
) -> None:
    reply = parse_lots("aurora-cells", [LOT], answer(**fields))[LOT]
    assert reply.reason is GapReason.INVALID_RESPONSE
    assert problem in (reply.detail or "")
