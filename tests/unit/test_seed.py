"""Seed files: the sample federation loads, and every broken rule is named with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from oretrail.domain.model import Role
from oretrail.errors import SeedError
from oretrail.store.seed import check_links_against, load_seed, load_seed_dir
from tests.conftest import SEED_DIR

GOOD = """
[organisation]
id = "acme"
name = "Acme Refining"
roles = ["REFINER"]
country = "FI"

[[facilities]]
id = "plant"
name = "Plant"
kind = "refinery"
country = "FI"
region = "Satakunta"

[[lots]]
id = "L1"
material = "nickel sulfate"
quantity = { value = 20, unit = "t" }
produced_at = 2026-03-01
facility = "plant"
custody = "MASS_BALANCE"
contents = { Ni = 0.22 }
inputs = [
  { lot = "urn:oretrail:lot:supplier:X1", quantity = { value = 12.1, unit = "t" } },
]
"""


def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sample_federation_covers_every_tier_of_the_chain() -> None:
    seeds = load_seed_dir(SEED_DIR)
    assert len(seeds) >= 14
    roles = {role for seed in seeds.values() for role in seed.organisation.roles}
    tiers = {
        Role.MINE,
        Role.TRADER,
        Role.SMELTER,
        Role.REFINER,
        Role.PRECURSOR,
        Role.CATHODE,
        Role.ANODE,
        Role.CELL,
        Role.PACK,
        Role.OEM,
        Role.RECYCLER,
        Role.AUDITOR,
    }
    assert tiers <= roles
    artisanal = [f for s in seeds.values() for f in s.facilities if f.artisanal]
    assert [(f.country, f.cahra) for f in artisanal] == [("CD", True)]


def test_each_seed_file_holds_only_its_own_organisations_lots() -> None:
    for org, seed in load_seed_dir(SEED_DIR).items():
        assert all(lot.owner == org and f":{org}:" in lot.id for lot in seed.lots)


def test_a_good_file_loads_with_global_ids(tmp_path: Path) -> None:
    seed = load_seed(write(tmp_path, GOOD))
    assert [lot.id for lot in seed.lots] == ["urn:oretrail:lot:acme:L1"]
    assert seed.lots[0].inputs[0].quantity.kilograms() == pytest.approx(12100)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("value = 20,", "value = -20,", r"lot L1: quantity -20 must be positive"),
        ("value = 12.1,", "value = 0,", r"lot L1 inputs\[0\]: quantity 0 must be positive"),
        (
            "urn:oretrail:lot:supplier:X1",
            "urn:oretrail:lot:acme:L1",
            r"lot L1 inputs\[0\]: lot urn:oretrail:lot:acme:L1 lists itself as an input",
        ),
        ("urn:oretrail:lot:supplier:X1", "supplier-X1", r"does not start with"),
        ('custody = "MASS_BALANCE"', 'custody = "TRUST_ME"', r"custody 'TRUST_ME' is not one of"),
        ("Ni = 0.22", "Ni = 1.5", r"Ni = 1.5 is not a fraction"),
        ('facility = "plant"', 'facility = "elsewhere"', r"facility 'elsewhere' is not defined"),
        (
            'country = "FI"\n\n[[facilities]]',
            'country = "Finland"\n\n[[facilities]]',
            r"country 'Finland' is not an ISO 3166-1",
        ),
        ('unit = "t" } },', 'unit = "pcs" } },', r"must be a mass \(kg or t\)"),
        ("produced_at = 2026-03-01", 'produced_at = "yesterday"', r"produced_at must be a date"),
        ('roles = ["REFINER"]', 'roles = ["WIZARD"]', r"role 'WIZARD' is not one of"),
        ('id = "acme"', 'id = "Acme Corp"', r"is not a slug"),
    ],
)
def test_a_broken_rule_names_file_record_and_problem(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SeedError, match=problem) as caught:
        load_seed(path)
    assert str(caught.value).startswith(str(path))


def test_a_file_that_is_not_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="not valid TOML"):
        load_seed(write(tmp_path, "[organisation\nid = 1"))


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="does not exist"):
        load_seed(tmp_path / "nowhere.toml")


def test_a_link_to_an_unregistered_organisation_is_reported(tmp_path: Path) -> None:
    seed = load_seed(write(tmp_path, GOOD))
    with pytest.raises(SeedError, match=r"organisation 'supplier' is not in the registry"):
        check_links_against([seed], {"acme"})
    check_links_against([seed], {"acme", "supplier"})


def test_the_same_organisation_in_two_files_is_reported(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD, "b.toml")
    with pytest.raises(SeedError, match=r"'acme' is also defined in"):
        load_seed_dir(tmp_path)
