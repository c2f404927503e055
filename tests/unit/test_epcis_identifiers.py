"""GS1 identifiers: the registry's `gs1` entries (read strictly), lots named by LGTIN in
both of GS1's spellings, and event dates at the event's own offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oretrail.config import load_registry
from oretrail.errors import ConfigError
from oretrail.standards.epcis_import import EpcisRefused, read_epcis
from oretrail.standards.epcis_terms import Gs1Directory, gtin14
from tests.conftest import CONFIG_DIR
from tests.support.epcis import example_config


def registry_with(tmp_path: Path, gs1: str) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(
        f'[[participants]]\nid = "a"\nroles = ["MINE"]\ncountry = "CD"\ngs1 = {gs1}\n',
        encoding="utf-8",
    )
    return path


def test_the_sample_registry_names_each_participant_and_facility_once() -> None:
    registry = load_registry(CONFIG_DIR / "registry.toml")
    hpal = registry.get("sulawesi-hpal")
    # The ninth participant listed: demonstration prefix 952 + 01 + 09.
    assert hpal.pgln == "urn:epc:id:pgln:9520109.00000"
    assert dict(hpal.sglns) == {
        "bahodopi-mine": "urn:epc:id:sgln:9520109.00001.0",
        "morowali-hpal": "urn:epc:id:sgln:9520109.00002.0",
    }
    directory = Gs1Directory.from_registry(registry)
    assert directory.party("urn:epc:id:pgln:9520109.00000") == "sulawesi-hpal"
    assert directory.party("urn:epc:id:sgln:9520109.00002.0") == "sulawesi-hpal"
    assert directory.party("urn:oretrail:org:rivalauto") == "rivalauto"
    assert directory.party("urn:oretrail:org:nobody") is None
    assert (
        directory.facility("urn:epc:id:sgln:9520109.00002.0")
        == "urn:oretrail:facility:sulawesi-hpal:morowali-hpal"
    )
    assert directory.party_uri("rivalauto") == "urn:oretrail:org:rivalauto"


@pytest.mark.parametrize(
    ("gs1", "refusal"),
    [
        ('{ pgln = "urn:epc:id:pgln:4012345.00000", gln = "x" }', "unknown key"),
        # 7 + 4 digits: a GLN has 12 before its check digit.
        ('{ pgln = "urn:epc:id:pgln:4012345.0000" }', "is not a PGLN"),
        ('{ pgln = "urn:epc:id:sgln:4012345.00000.0" }', "is not a PGLN"),
        ('{ locations = { pit = "urn:epc:id:pgln:4012345.00000" } }', "is not an SGLN"),
        ('{ locations = ["urn:epc:id:sgln:4012345.00000.0"] }', "must be a table"),
        ('"urn:epc:id:pgln:4012345.00000"', "must be a table"),
    ],
)
def test_a_malformed_gs1_entry_is_refused_naming_the_file(
    tmp_path: Path, gs1: str, refusal: str
) -> None:
    path = registry_with(tmp_path, gs1)
    with pytest.raises(ConfigError, match=refusal) as refused:
        load_registry(path)
    assert str(path) in str(refused.value)


def test_one_identifier_given_to_two_participants_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    twice = 'gs1 = { pgln = "urn:epc:id:pgln:4012345.00000" }\n'
    path.write_text(
        f'[[participants]]\nid = "a"\n{twice}[[participants]]\nid = "b"\n{twice}',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="given to both a and b"):
        load_registry(path)


def example_directory(tmp_path: Path) -> Gs1Directory:
    return Gs1Directory.from_registry(load_registry(example_config(tmp_path) / "registry.toml"))


def test_gtin_check_digits_follow_the_gs1_algorithm() -> None:
    # Indicator digit, company prefix, rest of the item reference: 0 4012345 11111.
    # From the right, weights 3,1,...: 1*3+1+1*3+1+1*3 + 5+4*3+3+2*3+1+0*3+4+0*3
    # = 11 + 31 = 42, check digit (10 - 2) % 10 = 8.
    assert gtin14("4012345", "011111") == "04012345111118"
    # 0 0614141 77777: 7*3+7+7*3+7+7*3 + 1+4*3+1+4*3+1+6*3+0+0*3 = 77 + 45 = 122 -> 8,
    # the GTIN the official Digital Link example gives for lgtin 0614141.077777.987.
    assert gtin14("0614141", "077777") == "00614141777778"


def test_both_spellings_of_an_lgtin_name_the_same_lot(tmp_path: Path) -> None:
    directory = example_directory(tmp_path)
    expected = "urn:oretrail:lot:gs1-0614141:00614141777778.987"
    assert directory.lot("urn:epc:class:lgtin:0614141.077777.987") == expected
    assert directory.lot("https://id.gs1.org/01/00614141777778/10/987") == expected
    # A lot number is URI-escaped in the EPC URI.
    assert directory.lot("urn:epc:class:lgtin:0614141.077777.A%2DB") == (
        "urn:oretrail:lot:gs1-0614141:00614141777778.A-B"
    )


@pytest.mark.parametrize(
    ("epc_class", "reason"),
    [
        ("urn:epc:idpat:sgtin:4012345.066666.*", "is a pattern of instances"),
        ("https://id.gs1.org/01/04012345666663", "without a lot number"),
        ("urn:epc:class:lgtin:7777777.012345.1", "no participant has GS1 company prefix 7777777"),
        ("urn:epc:class:lgtin:0614141.077777.A%21B", "holds characters a lot id cannot"),
        ("urn:epc:id:sgtin:0614141.107346.2017", "neither an oretrail lot id nor"),
    ],
)
def test_a_class_that_names_no_lot_is_refused_with_why(
    tmp_path: Path, epc_class: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        example_directory(tmp_path).lot(epc_class)


def shipment_document(event_time: str, offset: str) -> str:
    """gs1-4012345 ships 1 t of a lot it holds to gs1-0614141."""
    event = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "eventTime": event_time,
        "eventTimeZoneOffset": offset,
        "quantityList": [
            {"epcClass": "urn:oretrail:lot:gs1-4012345:L1", "quantity": 1, "uom": "TNE"}
        ],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "destinationList": [
            {"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}
        ],
    }
    return json.dumps({"type": "EPCISDocument", "epcisBody": {"eventList": [event]}})


@pytest.mark.parametrize(
    ("event_time", "offset", "day"),
    [
        # 23:30 UTC is 01:30 the next day at +02:00, and 17:30 the same day at -06:00.
        ("2026-03-04T23:30:00Z", "+02:00", "2026-03-05"),
        ("2026-03-04T23:30:00Z", "-06:00", "2026-03-04"),
        ("2026-03-05T00:30:00+01:00", "+00:00", "2026-03-04"),
    ],
)
def test_a_shipping_date_is_the_day_where_the_event_happened(
    tmp_path: Path, event_time: str, offset: str, day: str
) -> None:
    directory = example_directory(tmp_path)
    result = read_epcis(
        [("doc", shipment_document(event_time, offset))],
        "gs1-4012345",
        directory,
        known_lots=["urn:oretrail:lot:gs1-4012345:L1"],
    )
    [shipment] = result.shipments
    assert shipment.shipped_on.isoformat() == day
    assert shipment.to_org == "gs1-0614141"
    assert shipment.quantity.value == 1.0
    assert shipment.quantity.unit == "t"


def test_a_shipment_between_two_other_parties_is_refused(tmp_path: Path) -> None:
    directory = example_directory(tmp_path)
    with pytest.raises(EpcisRefused, match="neither is gs1-9520001"):
        read_epcis(
            [("doc", shipment_document("2026-03-04T12:00:00Z", "+00:00"))],
            "gs1-9520001",
            directory,
        )
