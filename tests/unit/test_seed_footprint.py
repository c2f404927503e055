"""Seed files state each carbon footprint's unit; a figure without one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.errors import SeedError
from oretrail.store.seed import load_seed, load_seed_dir
from tests.conftest import SEED_DIR

LOT = """
[organisation]
id = "acme"
name = "Acme Cells"
roles = ["CELL"]
country = "SE"

[[facilities]]
id = "plant"
name = "Plant"
kind = "cell plant"
country = "SE"
region = "Norrbotten"

[[lots]]
id = "L1"
material = "cells"
quantity = { value = 2, unit = "t" }
produced_at = 2026-03-01
facility = "plant"
custody = "SEGREGATED"
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(LOT + extra, encoding="utf-8")
    return path


def test_the_sample_pack_declares_its_footprint_per_kwh_and_its_rated_capacity() -> None:
    seeds = load_seed_dir(SEED_DIR)
    pack = seeds["nordvolt"].lots[0]
    assert (pack.carbon_footprint, pack.carbon_footprint_unit) == (72.0, "kgCO2e/kWh")
    assert pack.rated_capacity_kwh == 3750.0  # 50 packs x 75 kWh
    cam = next(lot for lot in seeds["helios-cathode"].lots if lot.id.endswith("CAM-2026-0412"))
    assert (cam.carbon_footprint, cam.carbon_footprint_unit) == (18.7, "kgCO2e/kg")


def test_every_sample_footprint_has_a_unit() -> None:
    lots = [lot for seed in load_seed_dir(SEED_DIR).values() for lot in seed.lots]
    declared = [lot for lot in lots if lot.carbon_footprint is not None]
    # 11 in the first pack's chain, plus issue 15's copper-foil cells and their packs.
    assert len(declared) == 13
    assert all(lot.carbon_footprint_unit in {"kgCO2e/kg", "kgCO2e/kWh"} for lot in declared)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("carbon_footprint = 61.0\n", "carbon_footprint_unit None is not one of"),
        (
            'carbon_footprint = 61.0\ncarbon_footprint_unit = "kgCO2/kWh"\n',
            "carbon_footprint_unit 'kgCO2/kWh' is not one of",
        ),
        ('carbon_footprint_unit = "kgCO2e/kg"\n', "is given without carbon_footprint"),
        (
            'carbon_footprint = 61.0\ncarbon_footprint_unit = "kgCO2e/kWh"\n',
            "a footprint per kWh needs the lot's rated_capacity_kwh",
        ),
        ("rated_capacity_kwh = 0\n", "rated_capacity_kwh 0 must be a number > 0"),
    ],
)
def test_a_footprint_without_a_known_unit_is_refused_naming_the_lot(
    tmp_path: Path, extra: str, problem: str
) -> None:
    with pytest.raises(SeedError) as refused:
        load_seed(write(tmp_path, extra))
    assert any("lot L1" in p and problem in p for p in refused.value.problems), refused.value


def test_a_footprint_per_kwh_with_its_capacity_loads(tmp_path: Path) -> None:
    extra = (
        'carbon_footprint = 61.0\ncarbon_footprint_unit = "kgCO2e/kWh"\nrated_capacity_kwh = 500\n'
    )
    lot = load_seed(write(tmp_path, extra)).lots[0]
    assert (lot.carbon_footprint, lot.carbon_footprint_unit, lot.rated_capacity_kwh) == (
        61.0,
        "kgCO2e/kWh",
        500.0,
    )
