"""Every official EPCIS 2.0 example that carries object or transformation events, imported
with `oretrail import epcis`: imported with counts read by hand from the file, or
refused whole with the reasons read by hand from the file.

The examples' companies are registered by their GS1 identifiers (tests/support/epcis.py).
Files without object or transformation events (aggregation, association, transaction
only) are not listed: the issue asks about the others.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.support.epcis import example_config, run_import
from tests.support.standards_files import epcis_examples, epcis_schema_path

# A store of gs1-4012345 that holds the lot the 9.6.2 example ships: GTIN-14 of
# urn:epc:class:lgtin:4012345.012345.998877 is 0 + 4012345 + 12345 + check digit; the
# check digit from the right, weights 3,1,...: 5*3+4+3*3+2+1*3+5+4*3+3+2*3+1+0+4+0 = 64,
# so (10 - 4) % 10 = 6: 04012345123456 (the Digital Link aggregation example names
# the same GTIN).
SENDER_STORE = """\
[organisation]
id = "gs1-4012345"
name = "Example company 4012345"
roles = ["REFINER"]
country = "DE"

[[facilities]]
id = "plant"
name = "Example plant"
kind = "refinery"
activities = ["PROCESSING_REFINING"]
country = "DE"
region = "Hesse"

[[lots]]
id = "04012345123456.998877"
material = "cobalt sulfate"
quantity = { value = 1, unit = "t" }
produced_at = 2013-06-01
facility = "plant"
custody = "SEGREGATED"
"""

# (file, importing organisation, lots, input links, shipments, ignored events)
IMPORTED = [
    # Two OBSERVE events of instances with no source or destination party: shipping
    # and receiving observed at a read point, nothing a shipment record can hold.
    ("Example_9.6.1-ObjectEvent.jsonld", "gs1-0614141", 0, 0, 0, 2),
    # The same two events as the result of a query.
    ("EPCISQueryDocument.jsonld", "gs1-0614141", 0, 0, 0, 2),
    # An inspection (OBSERVE) of 150 kg with sensor data, no parties.
    ("WithSensorData/SensorDataExample4.jsonld", "gs1-0614141", 0, 0, 0, 1),
    # 200 kg (KGM) of lgtin 4012345.012345.998877 from source party (possessing)
    # sgln 4012345.00001.0 = gs1-4012345 to destination owning party sgln
    # 0614141.00001.0 = gs1-0614141: one shipment, imported by the sender.
    ("Example_9.6.2-ObjectEvent.jsonld", "gs1-4012345", 0, 0, 1, 0),
    # The same event is a delivery to gs1-0614141: the receiver keeps no shipment.
    ("Example_9.6.2-ObjectEvent.jsonld", "gs1-0614141", 0, 0, 0, 1),
]

RETRACTION = "retracts an earlier event (errorDeclaration)"
INSTANCES = "names instances (single items), which carry no mass"
# (file, importing organisation, [(event index, reason read from the file)])
REFUSED = [
    (
        "Example_9.6.4-TransformationEvent.jsonld",
        "gs1-4012345",
        [
            (0, f"inputEPCList {INSTANCES}"),
            (0, f"outputEPCList {INSTANCES}"),
            # 10 KGM of lgtin 4012345.011111.4444: a lot of the importer defined nowhere.
            (0, "input urn:oretrail:lot:gs1-4012345:04012345111118.4444 is a lot of"),
            # 30 of lgtin 0614141.077777.987 with no uom: a count of items.
            (0, "inputQuantityList[1]: quantity of urn:oretrail:lot:gs1-0614141:"),
            (0, "has no unit: a quantity without a mass unit"),
            # 220 of urn:epc:idpat:sgtin:4012345.066666.*: a pattern, no lot.
            (0, "inputQuantityList[2]: urn:epc:idpat:sgtin:4012345.066666.* is a pattern"),
            (0, "has 0 outputs in outputQuantityList"),
        ],
    ),
    (
        "WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld",
        "gs1-4012345",
        [
            (0, f"inputEPCList {INSTANCES}"),
            (0, "has no unit: a quantity without a mass unit"),
            # https://id.gs1.org/01/04012345666663 has no /10/ lot number.
            (0, "names a trade item (GTIN) without a lot number"),
        ],
    ),
    (
        # 200 KGM of GTIN 70614141123451 (company prefix 0614141) shipped by
        # gs1-4012345: the sender ships a lot that is not its own.
        "WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld",
        "gs1-4012345",
        [(0, "ships lot urn:oretrail:lot:gs1-0614141:70614141123451.998877, which is not")],
    ),
    (
        # Ten sgtin instances each, owning party pgln 9520001.11111 to 9520999.99999.
        "PersistentDisposition-example.jsonld",
        "gs1-9520001",
        [(0, f"epcList {INSTANCES}"), (1, f"epcList {INSTANCES}")],
    ),
    ("WithSensorData/SensorDataExample12.jsonld", "gs1-4012345", [(0, RETRACTION)]),
    (
        "WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld",
        "gs1-4012345",
        [
            (0, RETRACTION),
            # The corrective event still consumes sgtin instances and outputs a pattern.
            (1, f"inputEPCList {INSTANCES}"),
            (1, "urn:epc:idpat:sgtin:4012345.044444.* is a pattern"),
        ],
    ),
    (
        "WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
        "gs1-4012345",
        [(0, RETRACTION)],
    ),
    (
        "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
        "gs1-4012345",
        [(0, RETRACTION)],
    ),
]


def test_the_lists_cover_every_example_with_object_or_transformation_events() -> None:
    """A new example with such events must be added to one of the lists by hand."""
    examples = epcis_examples()
    carrying = {
        str(p.relative_to(examples))
        for p in examples.rglob("*.jsonld")
        if '"ObjectEvent"' in p.read_text(encoding="utf-8")
        or '"TransformationEvent"' in p.read_text(encoding="utf-8")
    }
    assert carrying == {f for f, *_ in IMPORTED} | {f for f, *_ in REFUSED}


@pytest.mark.parametrize(("name", "org", "lots", "links", "shipments", "ignored"), IMPORTED)
def test_an_official_example_is_imported_with_the_counts_read_from_it(  # noqa: PLR0917 - parametrized
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    org: str,
    lots: int,
    links: int,
    shipments: int,
    ignored: int,
) -> None:
    config = example_config(tmp_path)
    seed = tmp_path / f"{org}.toml"
    if org == "gs1-4012345":
        seed.write_text(SENDER_STORE, encoding="utf-8")
    status, out, err = run_import(
        capsys, config, org, seed, epcis_schema_path(), epcis_examples() / name
    )
    assert status == 0, err
    assert f": {lots} lots, {links} input links, {shipments} shipments" in out
    assert out.count("ignored: ") == ignored
    stored = tomllib.loads(seed.read_text(encoding="utf-8"))
    assert len(stored.get("shipments", [])) == shipments
    if shipments:
        [shipment] = stored["shipments"]
        # eventTime 2013-06-08T14:58:56.591Z at +02:00 is 16:58 on 8 June there.
        assert shipment["date"].isoformat() == "2013-06-08"
        assert shipment["to"] == "gs1-0614141"
        assert shipment["quantity"] == {"value": 200.0, "unit": "kg"}
        assert shipment["lot"] == "urn:oretrail:lot:gs1-4012345:04012345123456.998877"


@pytest.mark.parametrize(("name", "org", "reasons"), REFUSED)
def test_an_official_example_is_refused_whole_with_the_reasons_read_from_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    org: str,
    reasons: list[tuple[int, str]],
) -> None:
    config = example_config(tmp_path)
    seed = tmp_path / f"{org}.toml"
    status, out, err = run_import(
        capsys, config, org, seed, epcis_schema_path(), epcis_examples() / name
    )
    assert status == 2
    assert out == ""
    assert "nothing was imported" in err
    assert not seed.exists()
    lines = err.splitlines()
    for index, reason in reasons:
        assert any(f": event {index}: " in line and reason in line for line in lines), (
            index,
            reason,
            err,
        )
