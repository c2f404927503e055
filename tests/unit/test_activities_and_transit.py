"""Facility activities and shipments' transit points: read from seed files, carried to the
gateway, and parsed from node answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from oretrail.domain.lotgraph import GapReason
from oretrail.domain.model import Activity, TransitPoint
from oretrail.errors import SeedError
from oretrail.gateway.node_client import parse_lots
from oretrail.store.seed import load_seed, load_seed_dir
from tests.conftest import SEED_DIR

SEED = """
[organisation]
id = "acme"
name = "Acme Recycling"
roles = ["RECYCLER"]
country = "NO"

[[facilities]]
id = "plant"
name = "Plant"
kind = "recycling plant"
{activities}
country = "NO"
region = "Viken"

[[lots]]
id = "BM1"
material = "black mass"
quantity = {{ value = 20, unit = "t" }}
produced_at = 2026-01-18
facility = "plant"
custody = "SEGREGATED"
contents = {{ Co = 0.08 }}

[[shipments]]
lot = "urn:oretrail:lot:acme:BM1"
to = "refiner"
date = 2026-01-20
quantity = {{ value = 20, unit = "t" }}
{transit}
"""


def write(tmp_path: Path, *, activities: str = "", transit: str = "") -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(SEED.format(activities=activities, transit=transit), encoding="utf-8")
    return path


def test_activities_are_read_from_the_closed_list(tmp_path: Path) -> None:
    path = write(tmp_path, activities='activities = ["SCRAP_COLLECTION", "PROCESSING_REFINING"]')
    [facility] = load_seed(path).facilities
    assert facility.activities == frozenset(
        {Activity.SCRAP_COLLECTION, Activity.PROCESSING_REFINING}
    )


def test_an_unknown_activity_is_refused_naming_the_file_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, activities='activities = ["EXTRACTION", "mining"]')
    with pytest.raises(SeedError) as error:
        load_seed(path)
    assert str(path) in str(error.value)
    assert "facilities[0]" in str(error.value)
    assert "activity 'mining' is not one of EXTRACTION, SCRAP_COLLECTION" in str(error.value)


def test_activities_that_are_not_a_list_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="activities must be a list"):
        load_seed(write(tmp_path, activities='activities = "EXTRACTION"'))


def test_left_out_activities_follow_the_organisations_roles(tmp_path: Path) -> None:
    # A recycler collects scrap and refines it.
    [facility] = load_seed(write(tmp_path)).facilities
    assert facility.activities == frozenset(
        {Activity.SCRAP_COLLECTION, Activity.PROCESSING_REFINING}
    )


def test_every_sample_facility_declares_its_activities() -> None:
    for seed in load_seed_dir(SEED_DIR).values():
        text = seed.source.read_text(encoding="utf-8")
        assert text.count("activities = ") == len(seed.facilities), seed.source
    seeds = load_seed_dir(SEED_DIR)
    # The pit and hydroxide plant; the copper concentrator beside it extracts only (issue 15).
    mine, concentrator = seeds["kambove-mining"].facilities
    assert concentrator.activities == frozenset({Activity.EXTRACTION})
    assert mine.activities == frozenset({Activity.EXTRACTION, Activity.PROCESSING_REFINING})
    [yard] = seeds["copperbelt-trading"].facilities
    assert yard.activities == frozenset({Activity.TRADING_STORAGE})


def test_transit_points_reach_the_shipment_and_the_lot(tmp_path: Path) -> None:
    transit = (
        'transit = [{ country = "ZM", region = "Copperbelt" }, '
        '{ country = "CD", region = "Lualaba" }]'
    )
    seed = load_seed(write(tmp_path, transit=transit))
    points = (TransitPoint("ZM", "Copperbelt"), TransitPoint("CD", "Lualaba"))
    assert seed.shipments[0].transit == points
    assert seed.lots[0].transit == points


def test_a_transit_point_with_a_bad_country_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, transit='transit = [{ country = "Congo", region = "Lualaba" }]')
    with pytest.raises(SeedError, match=r"shipments\[0\] transit\[0\]: country 'Congo'"):
        load_seed(path)


LOT = "urn:oretrail:lot:refiner:R-1"


def answer(lot: dict[str, Any], errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    base = {"id": LOT, "owner": "refiner", "inputs": []}
    document: dict[str, Any] = {
        "data": {
            "lots": {
                "answers": [{"id": LOT, "status": "FOUND", "detail": None, "lot": base | lot}],
                "continuations": [],
            }
        }
    }
    if errors:
        document["errors"] = errors
    return document


def test_the_gateway_reads_activities_transit_and_the_production_date() -> None:
    lot = {
        "producedAt": "2026-03-01",
        "transit": [{"country": "CD", "region": "Lualaba"}],
        "facility": {"name": "Plant", "activities": ["PROCESSING_REFINING"]},
    }
    traced = parse_lots("refiner", [LOT], answer(lot))[LOT].lot
    assert traced is not None
    assert traced.produced_at == date(2026, 3, 1)
    assert traced.transit == (TransitPoint("CD", "Lualaba"),)
    assert traced.facility is not None
    assert traced.facility.activities == frozenset({Activity.PROCESSING_REFINING})


def test_withheld_activities_and_transit_are_unknown_not_empty() -> None:
    withheld = [
        {
            "message": "withheld",
            "path": ["lots", "answers", 0, "lot", field],
            "extensions": {"code": "WITHHELD", "group": "origin"},
        }
        for field in ("transit", "facility")
    ]
    lot = {"transit": None, "facility": {"name": "Plant", "activities": None}}
    traced = parse_lots("refiner", [LOT], answer(lot, withheld))[LOT].lot
    assert traced is not None
    assert traced.transit is None
    assert traced.facility is not None
    assert traced.facility.activities is None


def test_an_activity_outside_the_list_makes_that_lot_an_invalid_answer() -> None:
    lot = {"facility": {"name": "Plant", "activities": ["ALCHEMY"]}}
    reply = parse_lots("refiner", [LOT], answer(lot))[LOT]
    assert reply.lot is None
    assert reply.reason is GapReason.INVALID_RESPONSE
    assert "closed list" in (reply.detail or "")
