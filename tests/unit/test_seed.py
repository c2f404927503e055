"""Seed files: the sample federation loads, and every broken rule is named with its place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oretrail.domain.model import ELEMENT_SYMBOLS, Role
from oretrail.errors import SeedError
from oretrail.store.seed import check_links_against, load_seed, load_seed_dir
from oretrail.store.seed_check import check_seed_dir, seed_warnings
from tests.conftest import SEED_DIR
from tests.support.seed_cases import cases_dir, copy_seeds

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
    # Four artisanal cooperatives in Lualaba (CAHRA): enough for the product line's
    # artisanal share to be published under k = 3 (docs/sample-data.md); and the Chipwi
    # rare-earth diggings in Kachin (issue 15).
    assert sorted((f.id.split(":")[-1], f.country, f.cahra) for f in artisanal) == [
        ("chipwi-leach", "MM", True),
        ("kando-site", "CD", True),
        ("kasulo-site", "CD", True),
        ("mutoshi-site", "CD", True),
        ("tshala-site", "CD", True),
    ]


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
        ('unit = "t" } },', 'unit = "pcs" } },', r"inputs\[0\]: quantity: unit 'pcs' is not one"),
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


UNIT_VARIANTS = ["T", "tonne", "tonnes", "Kg", "KG", "ton", "mt", "t ", ""]


@pytest.mark.parametrize("unit", UNIT_VARIANTS)
@pytest.mark.parametrize(
    ("old", "record"),
    [
        ('value = 20, unit = "t"', "lot L1: quantity"),
        ('value = 12.1, unit = "t"', "lot L1 inputs[0]: quantity"),
    ],
)
def test_a_unit_off_the_closed_list_is_refused_naming_file_record_and_unit(
    tmp_path: Path, unit: str, old: str, record: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, old.replace('"t"', f'"{unit}"'), 1))
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: ")
    expected = f"{record}: unit {unit!r} is not one of the mass units 'kg', 't'"
    assert expected in problem


def test_a_shipment_in_an_unlisted_unit_is_refused_too(tmp_path: Path) -> None:
    text = GOOD + SHIPMENT.format(value=5, unit="tonne")
    with pytest.raises(SeedError, match=r"shipments\[0\]: quantity: unit 'tonne' is not one"):
        load_seed(write(tmp_path, text))


def test_kilograms_and_tonnes_load_as_masses(tmp_path: Path) -> None:
    seed = load_seed(
        write(tmp_path, GOOD.replace('value = 20, unit = "t"', 'value = 20, unit = "kg"'))
    )
    # 20 kg; the input 12.1 t = 12,100 kg.
    assert seed.lots[0].quantity.kilograms() == 20.0
    assert seed.lots[0].inputs[0].quantity.kilograms() == pytest.approx(12100.0)


SHIPMENT = """
[[shipments]]
lot = "urn:oretrail:lot:acme:L1"
to = "buyer"
date = 2026-03-05
quantity = {{ value = {value}, unit = "{unit}" }}
"""


@pytest.mark.parametrize("symbol", ["CO", "co", "Cobalt", "Xx", "NMC", "", "Li2O"])
def test_an_unknown_element_symbol_is_refused(tmp_path: Path, symbol: str) -> None:
    path = write(
        tmp_path, GOOD.replace("contents = { Ni = 0.22 }", f'contents = {{ "{symbol}" = 0.1 }}')
    )
    with pytest.raises(
        SeedError, match=rf"lot L1 contents: {re.escape(repr(symbol))} is not an element"
    ):
        load_seed(path)


def test_the_elements_of_batteries_magnets_and_3tg_are_symbols() -> None:
    listed = {"Co", "Ni", "Li", "Mn", "C", "Cu", "Nd", "Pr", "Dy", "Tb", "Fe", "Al", "P", "O"}
    three_tg = {"Sn", "Ta", "W", "Au"}
    sample = {
        e
        for seed in load_seed_dir(SEED_DIR).values()
        for lot in seed.lots
        for e in lot.contents or {}
    }
    # The battery metals, and the magnet rare earths of the drive unit (issue 15).
    assert sample == {"C", "Co", "Cu", "Li", "Ni", "Nd", "Pr", "Dy", "Tb"}
    assert listed | three_tg | sample <= ELEMENT_SYMBOLS
    assert len(ELEMENT_SYMBOLS) == 118  # the periodic table, no more


BROKEN_MANY = """
[organisation]
id = "acme"
name = "Acme Refining"
roles = ["REFINER"]
country = "FI"

[[facilities]]
id = "plant"
name = "Plant"
kind = "refinery"
country = "Finland"
region = "Satakunta"

[[lots]]
id = "L1"
material = "nickel sulfate"
quantity = { value = 20, unit = "T" }
produced_at = 2026-03-01
facility = "plant"
custody = "MASS_BALANCE"
contents = { Ni = 1.5, CO = 0.1 }
inputs = [
  { lot = "urn:oretrail:lot:acme:GHOST", quantity = { value = 1, unit = "t" } },
  { lot = "urn:oretrail:lot:supplier:X1", quantity = { value = 12.1, unit = "tonne" } },
  { lot = "urn:oretrail:lot:acme:L2", quantity = { value = 1, unit = "t" } },
]

[[lots]]
id = "L2"
material = "nickel sulfate"
quantity = { value = 5, unit = "t" }
produced_at = "yesterday"
facility = "plant"
custody = "TRUST_ME"

[[lots]]
id = "L3"
material = "nickel sulfate"
quantity = { value = 5, unit = "t" }
produced_at = 2026-03-01
facility = "plant"
custody = "SEGREGATED"
inputs = [{ lot = "urn:oretrail:lot:acme:L1", quantity = { value = 1, unit = "kg" } }]

[[shipments]]
lot = "urn:oretrail:lot:acme:NOPE"
to = "buyer"
date = 2026-03-05
quantity = { value = 1, unit = "t" }
"""


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN_MANY)
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    # Nine problems, in the file's order; each names the file, the record and the field.
    # L2 and L3 link to declared lots (L1, L2 are broken, not missing): no dangling link.
    assert [p.removeprefix(f"{path}: ") for p in caught.value.problems] == [
        "facilities[0]: country 'Finland' is not an ISO 3166-1 alpha-2 code",
        "lot L1: quantity: unit 'T' is not one of the mass units 'kg', 't' "
        "(spelled exactly: no other spelling is accepted)",
        "lot L1 contents: Ni = 1.5 is not a fraction between 0 and 1",
        "lot L1 contents: 'CO' is not an element symbol (Co, Ni, Li, ... as in the periodic table)",
        "lot L1 inputs[0]: input urn:oretrail:lot:acme:GHOST is ours but no lot of this file "
        "(a dangling link)",
        "lot L1 inputs[1]: quantity: unit 'tonne' is not one of the mass units 'kg', 't' "
        "(spelled exactly: no other spelling is accepted)",
        "lot L2: produced_at must be a date (YYYY-MM-DD), not 'yesterday'",
        "lot L2: custody 'TRUST_ME' is not one of IDENTITY_PRESERVED, SEGREGATED, "
        "CONTROLLED_BLENDING, MASS_BALANCE, BOOK_AND_CLAIM",
        "shipments[0]: lot urn:oretrail:lot:acme:NOPE is not one of this organisation's lots",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_a_dangling_link_to_a_lot_of_our_own_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("urn:oretrail:lot:supplier:X1", "urn:oretrail:lot:acme:L9"))
    with pytest.raises(
        SeedError, match=r"lot L1 inputs\[0\]: input urn:oretrail:lot:acme:L9 is ours but no lot"
    ):
        load_seed(path)


def test_a_directory_check_collects_the_problems_of_every_file_and_link(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("Ni = 0.22", "Ni = 2.2"), "a.toml")
    other = GOOD.replace('id = "acme"', 'id = "beta"').replace("acme", "beta")
    write(tmp_path, other.replace('value = 20, unit = "t"', 'value = 20, unit = "Kg"'), "b.toml")
    write(
        tmp_path, GOOD.replace('id = "acme"', 'id = "gamma"').replace(":acme:", ":gamma:"), "c.toml"
    )
    check = check_seed_dir(tmp_path, {"acme", "beta", "gamma"} - {"supplier"})
    assert check.files == 3
    assert list(check.seeds) == ["gamma"]
    assert [p.split(": ", 1)[0] for p in check.problems] == [
        str(tmp_path / "a.toml"),
        str(tmp_path / "b.toml"),
        str(tmp_path / "c.toml"),
    ]
    assert "Ni = 2.2 is not a fraction" in check.problems[0]
    assert "unit 'Kg' is not one of the mass units" in check.problems[1]
    assert "organisation 'supplier' is not in the registry" in check.problems[2]


def test_links_to_several_unregistered_organisations_are_all_reported(tmp_path: Path) -> None:
    two = GOOD.replace(
        "},\n]\n",
        '},\n  { lot = "urn:oretrail:lot:stranger:S1", '
        'quantity = { value = 1, unit = "t" } },\n]\n',
        1,
    )
    seed = load_seed(write(tmp_path, two))
    with pytest.raises(SeedError) as caught:
        check_links_against([seed], {"acme"})
    assert len(caught.value.problems) == 2
    assert "'supplier' is not in the registry" in caught.value.problems[0]
    assert "'stranger' is not in the registry" in caught.value.problems[1]


def test_shipments_and_links_beyond_a_lots_quantity_are_warnings_not_refusals(
    tmp_path: Path,
) -> None:
    # L1 holds 20 t; shipped 12 t + 9 t = 21 t (two deliveries add up).
    text = GOOD + SHIPMENT.format(value=12, unit="t") + SHIPMENT.format(value=9000, unit="kg")
    seller = load_seed(write(tmp_path, text))
    buyer_text = GOOD.replace('id = "acme"', 'id = "buyer"').replace(":acme:", ":buyer:")
    # The buyer's lot consumes 15 t + 6 t = 21 t of acme's L1 in two links.
    buyer_text = buyer_text.replace(
        '{ lot = "urn:oretrail:lot:supplier:X1", quantity = { value = 12.1, unit = "t" } },',
        '{ lot = "urn:oretrail:lot:acme:L1", quantity = { value = 15, unit = "t" } },\n'
        '  { lot = "urn:oretrail:lot:acme:L1", quantity = { value = 6000, unit = "kg" } },',
    )
    buyer = load_seed(write(tmp_path, buyer_text, "buyer.toml"))
    assert seed_warnings([seller, buyer]) == [
        f"{seller.source}: lot L1 is shipped for 21 t, more than its quantity of 20 t",
        f"{seller.source}: lot L1 is consumed by input links for 21 t, "
        "more than its quantity of 20 t",
    ]
    # Exactly the quantity is no warning.
    exact = load_seed(write(tmp_path, GOOD + SHIPMENT.format(value=20, unit="t"), "exact.toml"))
    assert seed_warnings([exact]) == []


def unit_case(variant: str) -> Path:
    return cases_dir() / "lot-unit-variant-disables-mass-balance" / "small" / variant / "seeds"


def test_case_unit_variant_capital_t_is_refused_naming_file_lot_and_unit() -> None:
    with pytest.raises(SeedError) as caught:
        load_seed_dir(unit_case("T"))
    assert caught.value.problems == (
        f"{unit_case('T') / 'conv-c.toml'}: lot LH1: quantity: unit 'T' is not one of the mass "
        "units 'kg', 't' (spelled exactly: no other spelling is accepted)",
    )


def test_case_unit_t_loads_with_the_lots_mass() -> None:
    seeds = load_seed_dir(unit_case("t"))
    [lh1] = seeds["conv-c"].lots
    # 10 t x 16.5 % Li = 1,650 kg claimed; the input 40.5 t x 2.79 % = 1,129.95 kg.
    assert lh1.quantity.kilograms() == 10_000.0
    assert lh1.contents == {"Li": 0.165}
    assert lh1.inputs[0].quantity.kilograms() == 40_500.0


def test_case_sample_with_tonne_spelled_out_is_refused(tmp_path: Path) -> None:
    seeds = copy_seeds(SEED_DIR, tmp_path)
    path = seeds / "coastal-lithium.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('id = "LH-2026-061"')
    old = 'unit = "t"'
    at = text.index(old, start)
    path.write_text(text[:at] + 'unit = "tonne"' + text[at + len(old) :], encoding="utf-8")
    with pytest.raises(SeedError) as caught:
        load_seed_dir(seeds)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: lot LH-2026-061: quantity: unit 'tonne' is not one of")


CERTIFICATE = """
[[certificates]]
id = "RMAP-1"
subject = "plant"
issuer = "auditor"
standard = "RMAP"
scope = "refiner"
valid_from = 2025-01-01
valid_to = 2027-12-31
"""


def test_a_certificate_carries_its_credential_as_given(tmp_path: Path) -> None:
    # Three base64url parts, as a compact JWS is; the seed does not verify it.
    path = write(tmp_path, GOOD + CERTIFICATE + 'credential = "aGVhZA.Ym9keQ.c2ln"\n')
    [certificate] = load_seed(path).certificates
    assert certificate.credential == "aGVhZA.Ym9keQ.c2ln"
    assert certificate.verification == "UNVERIFIED"
    [plain] = load_seed(write(tmp_path, GOOD + CERTIFICATE, "plain.toml")).certificates
    assert plain.credential is None


@pytest.mark.parametrize("value", ['"not-a-jws"', "42", '"a.b"'])
def test_a_credential_that_is_no_compact_jws_is_refused(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, GOOD + CERTIFICATE + f"credential = {value}\n")
    with pytest.raises(SeedError, match=r"certificates\[0\]: credential must be a compact vc\+jwt"):
        load_seed(path)
