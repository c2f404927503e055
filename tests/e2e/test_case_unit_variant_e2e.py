"""The case lot-unit-variant-disables-mass-balance (../shared/cases) on real servers.

LH1 claims 10 t x 16.5 % = 1,650 kg Li from 40.5 t x 2.79 % = 1,129.95 kg. With the
unit written "t" the federation serves it and the trace flags the mass balance;
written "T" the federation refuses to start, naming the file, the lot and the unit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.bootstrap import run_federation
from oretrail.errors import SeedError
from oretrail.report import TRACE_QUERY
from tests.conftest import graphql, served_federation
from tests.support.seed_cases import case_federation, cases_dir

pytestmark = pytest.mark.e2e

P1, LH1 = "urn:oretrail:lot:oem-a:P1", "urn:oretrail:lot:conv-c:LH1"


def variant(unit: str) -> Path:
    return cases_dir() / "lot-unit-variant-disables-mass-balance" / "small" / unit / "seeds"


async def test_case_unit_t_is_judged_and_flagged_for_its_mass_balance(tmp_path: Path) -> None:
    config = case_federation(variant("t"), tmp_path)
    with served_federation(config) as federation:
        body = await graphql(
            federation.gateway_url,
            TRACE_QUERY,
            {"lot": P1, "asOf": "2026-02-01"},
            token=federation.user("oem-a"),
        )
    assert "errors" not in body, body
    trace = body["data"]["trace"]
    assert {lot["id"] for lot in trace["lots"] if lot["opened"]} == {
        P1,
        LH1,
        "urn:oretrail:lot:mine-y:SC1",
    }
    flags = [r for r in trace["risks"] if r["kind"] == "MASS_BALANCE"]
    assert [r["lot"] for r in flags] == [LH1]
    # 1,650 kg claimed; 1,129.95 kg supplied (shown rounded to 1,130 kg).
    assert "1,650 kg" in flags[0]["evidence"]
    assert "1,130 kg" in flags[0]["evidence"]


async def test_case_unit_capital_t_stops_the_federation_naming_file_lot_and_unit(
    tmp_path: Path,
) -> None:
    config = case_federation(variant("T"), tmp_path)
    with pytest.raises(SeedError) as refused:
        async with run_federation(config):
            pass
    assert refused.value.problems == (
        f"{tmp_path / 'seeds' / 'conv-c.toml'}: lot LH1: quantity: unit 'T' is not one of the "
        "mass units 'kg', 't' (spelled exactly: no other spelling is accepted)",
    )
