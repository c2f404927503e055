"""The hand-computed cases of ../shared/cases, end to end on real servers over real HTTP.

Each case is the sample (or a small generic federation) with one edit, written under
tmp_path; the right values are computed by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oretrail.bootstrap import FederationConfig
from oretrail.report import TRACE_QUERY
from tests.conftest import PACK, graphql, oem_token, served_federation
from tests.support.federations import generic_federation, sample_with

pytestmark = pytest.mark.e2e

LOT = "urn:oretrail:lot:"
YARD_LOT = f"{LOT}copperbelt-trading:CH-2026-014"
KAMBOVE = f"{LOT}kambove-mining:MH-2026-031"
KASULO = f"{LOT}kasulo-coop:HG-2026-007"
# Cathode: 2.4 t primary and 0.5 t recycled cobalt sulfate, both 21 % Co.
PRIMARY = 2.4 / 2.9
# The yard: 7 t at 32 % Co (2.24 t) and 4 t at 19 % (0.76 t) of 3.00 t.
FROM_KAMBOVE = 2.24 / 3.00


async def trace(
    config: FederationConfig, root: str = PACK, caller: str = "nordvolt", **served: Any
) -> dict[str, Any]:
    with served_federation(config, **served) as federation:
        token = oem_token(federation) if caller == "nordvolt" else federation.user(caller)
        body = await graphql(
            federation.gateway_url, TRACE_QUERY, {"lot": root, "asOf": "2026-11-26"}, token=token
        )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["trace"]
    return result


def shares(item: dict[str, Any]) -> dict[str, float]:
    return {s["element"]: s["share"] for s in item["shares"]}


def risks(result: dict[str, Any], kind: str) -> dict[str | None, dict[str, Any]]:
    return {r["lot"]: r for r in result["risks"] if r["kind"] == kind}


async def test_a_trader_lot_without_inputs_is_a_gap_not_an_origin(tmp_path: Path) -> None:
    config = sample_with(
        tmp_path,
        "graph/seed/copperbelt-trading.toml",
        (
            """inputs = [
  { lot = "urn:oretrail:lot:kambove-mining:MH-2026-031", quantity = { value = 7, unit = "t" } },
  { lot = "urn:oretrail:lot:kasulo-coop:HG-2026-007", quantity = { value = 4, unit = "t" } },
]
""",
            "",
        ),
    )
    result = await trace(config)
    gaps = {g["lot"]: g for g in result["gaps"]}
    assert gaps[YARD_LOT]["reason"] == "UNDECLARED_INPUTS"
    # Everything primary went through the yard: 2.4 / 2.9 = 82.8 % of the pack's Co.
    assert shares(gaps[YARD_LOT])["Co"] == pytest.approx(PRIMARY)
    coverage = {c["element"]: c["coverage"] for c in result["coverage"]}
    assert coverage["Co"] == pytest.approx(0.5 / 2.9)  # 17.2 %: the recycled feed only
    assert YARD_LOT not in {o["lot"] for o in result["origins"]}
    low = [r["evidence"] for r in result["risks"] if r["kind"] == "LOW_COVERAGE"]
    assert any("17.2% of the product's Co" in evidence for evidence in low)
    # The artisanal CAHRA site is behind the yard: not flagged, but the gap carries its share.
    assert KASULO not in risks(result, "CAHRA_ORIGIN")


async def test_links_beyond_a_lots_quantity_are_flagged_in_the_trace(tmp_path: Path) -> None:
    bm = "urn:oretrail:lot:circulo-recycling:BM-2026-033"
    config = sample_with(
        tmp_path,
        "graph/seed/circulo-recycling.toml",
        (
            f'{{ lot = "{bm}", quantity = {{ value = 3, unit = "t" }} }}',
            f'{{ lot = "{bm}", quantity = {{ value = 12, unit = "t" }} }}',
        ),
        (
            f'{{ lot = "{bm}", quantity = {{ value = 3.6, unit = "t" }} }}',
            f'{{ lot = "{bm}", quantity = {{ value = 10, unit = "t" }} }}',
        ),
    )
    result = await trace(config)
    flag = risks(result, "OVER_ALLOCATION")[bm]
    # 12 t + 10 t = 22,000 kg consumed of the 20,000 kg the black mass holds.
    assert "holds 20,000 kg but the links seen in this trace consume 22,000 kg" in flag["evidence"]


async def test_material_through_a_yard_in_a_cahra_region_is_flagged(tmp_path: Path) -> None:
    config = sample_with(
        tmp_path,
        "graph/seed/copperbelt-trading.toml",
        ('region = "Haut-Katanga"', 'region = "Lualaba"'),
    )
    result = await trace(config)
    flag = risks(result, "CAHRA_TRANSIT")[YARD_LOT]
    assert shares(flag)["Co"] == pytest.approx(PRIMARY)  # 82.8 %: all that went through
    assert "Likasi warehouse and blending yard in Lualaba, CD" in flag["evidence"]
    # The artisanal site's own origin flags are still there.
    assert KASULO in risks(result, "CAHRA_ORIGIN")


@pytest.mark.parametrize("store", ["embedded", "neo4j"])
async def test_a_shipment_through_a_cahra_region_is_flagged(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    config = sample_with(
        tmp_path,
        "graph/seed/kambove-mining.toml",
        (
            'date = 2026-01-29\nquantity = { value = 7, unit = "t" }',
            'date = 2026-01-29\nquantity = { value = 7, unit = "t" }\n'
            'transit = [{ country = "ZM", region = "Copperbelt" }, '
            '{ country = "CD", region = "Lualaba" }]',
        ),
    )
    served: dict[str, Any] = {}
    if store == "neo4j":
        seeded = frozenset(p.id for p in config.registry.participants.values() if p.seed)
        served = {"neo4j_uri": request.getfixturevalue("neo4j_uri"), "neo4j_nodes": seeded}
    result = await trace(config, **served)
    flag = risks(result, "CAHRA_TRANSIT")[KAMBOVE]
    # Kambove's hydroxide is 2.24 / 3.00 of the yard's Co, which is 2.4 / 2.9 of the pack's.
    assert shares(flag)["Co"] == pytest.approx(PRIMARY * FROM_KAMBOVE)
    assert "passed through Lualaba, CD" in flag["evidence"]


def _seed(org: str, role: str, facility: str, lots: str, *, site: str = "") -> str:
    return (
        f'[organisation]\nid = "{org}"\nname = "{org} Ltd"\nroles = ["{role}"]\n'
        f'country = "CD"\n\n[[facilities]]\nid = "site"\nname = "{org} site"\n'
        f'kind = "{facility}"\ncountry = "CD"\nregion = "Region"\n{site}\n{lots}'
    )


def _lot(local: str, material: str, tonnes: float, co: float, day: str, *, inputs: str = "") -> str:
    return (
        f'[[lots]]\nid = "{local}"\nmaterial = "{material}"\n'
        f'quantity = {{ value = {tonnes}, unit = "t" }}\nproduced_at = 2026-01-{day}\n'
        f'facility = "site"\ncustody = "SEGREGATED"\ncontents = {{ Co = {co} }}\n'
        f"inputs = [{inputs}]\n\n"
    )


def _link(org: str, local: str, tonnes: float) -> str:
    return f'{{ lot = "{LOT}{org}:{local}", quantity = {{ value = {tonnes}, unit = "t" }} }}'


def _shipment(org: str, local: str, to: str, tonnes: float, day: str) -> str:
    return (
        f'[[shipments]]\nlot = "{LOT}{org}:{local}"\nto = "{to}"\ndate = 2026-01-{day}\n'
        f'quantity = {{ value = {tonnes}, unit = "t" }}\n\n'
    )


def yield_loss_seeds(cam_cobalt: float) -> dict[str, str]:
    """Pack 8 t at 2 % Co <- 4 t CAM; CAM 10 t <- 2 t CS (21 %, from a Cu-Co mine) and
    1.5 t HS (21 %, contents withheld, from an artisanal CAHRA site)."""
    return {
        "mine-cu": _seed(
            "mine-cu",
            "MINE",
            "open-pit Cu-Co mine",
            _lot("ORE", "cobalt hydroxide", 1.4, 0.30, "05")
            + _shipment("mine-cu", "ORE", "refiner-v", 1.4, "08"),
        ),
        "asm-site": _seed(
            "asm-site",
            "MINE",
            "artisanal cobalt site",
            _lot("ORE", "cobalt concentrate", 1.05, 0.30, "05")
            + _shipment("asm-site", "ORE", "refiner-h", 1.05, "08"),
            site="artisanal = true\ncahra = true",
        ),
        "refiner-v": _seed(
            "refiner-v",
            "REFINER",
            "cobalt refinery",
            _lot("CS", "cobalt sulfate", 2, 0.21, "12", inputs=_link("mine-cu", "ORE", 1.4))
            + _shipment("refiner-v", "CS", "cam-maker", 2, "15"),
        ),
        "refiner-h": _seed(
            "refiner-h",
            "REFINER",
            "cobalt refinery",
            _lot("HS", "cobalt sulfate", 1.5, 0.21, "12", inputs=_link("asm-site", "ORE", 1.05))
            + _shipment("refiner-h", "HS", "cam-maker", 1.5, "15"),
        ),
        "cam-maker": _seed(
            "cam-maker",
            "CATHODE",
            "cathode plant",
            _lot(
                "CAM",
                "cathode active material",
                10,
                cam_cobalt,
                "16",
                inputs=_link("refiner-v", "CS", 2) + ", " + _link("refiner-h", "HS", 1.5),
            )
            + _shipment("cam-maker", "CAM", "oem-a", 4, "18"),
        ),
        "oem-a": _seed(
            "oem-a",
            "OEM",
            "pack assembly",
            _lot("P1", "battery pack", 8, 0.02, "20", inputs=_link("cam-maker", "CAM", 4)),
        ),
    }


@pytest.mark.parametrize("cam_cobalt", [0.04, 0.05])
async def test_withheld_contents_fall_back_to_mass_shares_end_to_end(
    tmp_path: Path, cam_cobalt: float
) -> None:
    config = generic_federation(
        tmp_path, yield_loss_seeds(cam_cobalt), withhold={"refiner-h": ["contents"]}
    )
    result = await trace(config, root=f"{LOT}oem-a:P1", caller="oem-a")
    origins = {o["lot"]: o for o in result["origins"]}
    mine, asm = f"{LOT}mine-cu:ORE", f"{LOT}asm-site:ORE"
    # Mass shares at CAM: 2 t / 3.5 t = 57.14 % and 1.5 t / 3.5 t = 42.86 %, approximate.
    assert shares(origins[mine])["Co"] == pytest.approx(2 / 3.5)
    assert shares(origins[asm])["Co"] == pytest.approx(1.5 / 3.5)
    assert all(s["approximate"] for o in origins.values() for s in o["shares"])
    for kind in ("CAHRA_ORIGIN", "ASM_ORIGIN"):
        flag = risks(result, kind)[asm]
        assert shares(flag)["Co"] == pytest.approx(1.5 / 3.5)
        assert "takes about 42.9% of its Co" in flag["evidence"]
    not_checked = {(n["check"], n["lot"]) for n in result["notChecked"]}
    assert ("MASS_BALANCE", f"{LOT}cam-maker:CAM") in not_checked


@pytest.mark.parametrize("held", [1.9, 4])
async def test_two_deliveries_of_one_lot_add_up_in_the_trace(tmp_path: Path, held: float) -> None:
    # P1 (5 t) lists X1 twice, 3 t and 2 t: 5,000 kg consumed, beyond 1.9 t and beyond 4 t.
    seeds = {
        "cell-x": _seed(
            "cell-x",
            "CELL",
            "plant",
            _lot("X1", "cells", held, 0.1, "12")
            + _shipment("cell-x", "X1", "oem-a", 3, "15")
            + _shipment("cell-x", "X1", "oem-a", 2, "15"),
        ),
        "oem-a": _seed(
            "oem-a",
            "OEM",
            "plant",
            _lot(
                "P1",
                "pack",
                5,
                0.1,
                "20",
                inputs=_link("cell-x", "X1", 3) + ", " + _link("cell-x", "X1", 2),
            ),
        ),
    }
    result = await trace(generic_federation(tmp_path, seeds), root=f"{LOT}oem-a:P1", caller="oem-a")
    x1 = f"{LOT}cell-x:X1"
    flag = risks(result, "OVER_ALLOCATION")[x1]
    assert (
        f"holds {held * 1000:,.0f} kg but the links seen in this trace consume 5,000 kg"
        in (flag["evidence"])
    )
    # A cell maker's lot without inputs is no origin: the whole Co is behind that gap.
    [gap] = result["gaps"]
    assert (gap["lot"], gap["reason"], shares(gap)) == (x1, "UNDECLARED_INPUTS", {"Co": 1.0})
