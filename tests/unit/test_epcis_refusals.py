"""Malformed EPCIS documents are refused whole, each problem naming its event by index,
and the store is left exactly as it was (nothing half-imported)."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oretrail.config import load_registry
from oretrail.standards.epcis_export import export_epcis
from oretrail.standards.epcis_import import EpcisRefused, read_epcis
from oretrail.standards.epcis_schema import EpcisSchema
from oretrail.standards.epcis_terms import Gs1Directory
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR
from tests.support.epcis import run_import
from tests.support.standards_files import epcis_schema_path

ORG = "boreal-cobalt"
CS = "urn:oretrail:lot:boreal-cobalt:CS-2026-102"


def good_document() -> dict[str, Any]:
    """Boreal Cobalt's records as EPCIS: event 0 makes CS-2026-102 from 10 t of
    copperbelt-trading's CH-2026-014; event 1 ships 2.4 t of it to helios-cathode."""
    registry = load_registry(CONFIG_DIR / "registry.toml")
    seed = load_seed(SEED_DIR / f"{ORG}.toml")
    # Only CS-2026-102 and its shipment (the store's second lot is not needed here).
    seed = replace(
        seed,
        lots=tuple(lot for lot in seed.lots if lot.id == CS),
        shipments=tuple(s for s in seed.shipments if s.lot == CS),
    )
    return export_epcis(
        seed, Gs1Directory.from_registry(registry), datetime(2026, 11, 30, tzinfo=UTC)
    )


def events(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return found


def without_type(d: dict[str, Any]) -> None:
    del events(d)[1]["type"]


def pound_unit(d: dict[str, Any]) -> None:
    events(d)[0]["inputQuantityList"][0]["uom"] = "LBR"


def text_quantity(d: dict[str, Any]) -> None:
    events(d)[1]["quantityList"][0]["quantity"] = "2.4"


def undefined_input(d: dict[str, Any]) -> None:
    extra = copy.deepcopy(events(d)[0])
    extra["eventID"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    extra["inputQuantityList"] = [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:NEVER-MADE", "quantity": 1, "uom": "TNE"}
    ]
    extra["outputQuantityList"] = [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:CS-2026-199", "quantity": 1, "uom": "TNE"}
    ]
    events(d).append(extra)


def no_unit(d: dict[str, Any]) -> None:
    del events(d)[0]["outputQuantityList"][0]["uom"]


# (how the document is broken, the event index, what the refusal says)
BROKEN: list[tuple[Callable[[dict[str, Any]], None], int, str]] = [
    (without_type, 1, "has no event type"),
    (
        pound_unit,
        0,
        "unit 'LBR' of urn:oretrail:lot:copperbelt-trading:CH-2026-014 is not a mass unit",
    ),
    (text_quantity, 1, f"quantity '2.4' of {CS} is not a number"),
    (
        undefined_input,
        2,
        "input urn:oretrail:lot:boreal-cobalt:NEVER-MADE is a lot of boreal-cobalt "
        "that is defined nowhere",
    ),
    (no_unit, 0, "a quantity without a mass unit (KGM or TNE) counts items and is refused"),
]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A copy of Boreal Cobalt's sample seed file: the embedded store imported into."""
    path = tmp_path / f"{ORG}.toml"
    shutil.copyfile(SEED_DIR / f"{ORG}.toml", path)
    return path


@pytest.mark.parametrize(("breaking", "index", "reason"), BROKEN)
def test_a_broken_event_refuses_every_document_of_the_import_and_changes_nothing(  # noqa: PLR0917 - parametrized
    tmp_path: Path,
    store: Path,
    capsys: pytest.CaptureFixture[str],
    breaking: Callable[[dict[str, Any]], None],
    index: int,
    reason: str,
) -> None:
    """The good document beside the broken one is not imported either."""
    before = store.read_bytes()
    good, broken = tmp_path / "good.json", tmp_path / "broken.json"
    fresh = good_document()
    # The good document adds a lot the store does not hold yet.
    events(fresh)[0]["outputQuantityList"][0]["epcClass"] = CS.replace("102", "104")
    good.write_text(json.dumps(fresh), encoding="utf-8")
    document = good_document()
    breaking(document)
    broken.write_text(json.dumps(document), encoding="utf-8")
    status, out, err = run_import(capsys, CONFIG_DIR, ORG, store, epcis_schema_path(), good, broken)
    assert status == 2
    assert out == ""
    assert any(
        line.startswith(f"oretrail: {broken}: event {index}: ") and reason in line
        for line in err.splitlines()
    ), err
    assert str(good) not in err
    assert store.read_bytes() == before


def test_a_document_that_is_not_json_is_refused_with_its_line_and_column(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = store.read_bytes()
    broken = tmp_path / "broken.json"
    # Line 1 is '{', line 2 breaks off after its opening quote.
    broken.write_text('{\n  "type": "EPCISDocument', encoding="utf-8")
    status, _, err = run_import(capsys, CONFIG_DIR, ORG, store, epcis_schema_path(), broken)
    assert status == 2
    assert f"oretrail: {broken}: not valid JSON: line 2 column 11" in err
    assert store.read_bytes() == before


def test_the_schema_names_the_event_it_refuses(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quantity given as text breaks the official schema (a decimal is a JSON number)."""
    document = good_document()
    text_quantity(document)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    status, _, err = run_import(capsys, CONFIG_DIR, ORG, store, epcis_schema_path(), broken)
    assert status == 2
    assert any(
        "event 1: " in line and "(EPCIS JSON Schema)" in line for line in err.splitlines()
    ), err


@pytest.mark.parametrize(
    ("field", "value", "format_name"),
    [("eventTime", "4 March 2026", "date-time"), ("eventID", "not a uri", "uri")],
)
def test_the_schemas_formats_are_checked(field: str, value: str, format_name: str) -> None:
    """Without its format validators jsonschema would pass these silently."""
    document = good_document()
    events(document)[0][field] = value
    problems = EpcisSchema.load(epcis_schema_path()).problems(document)
    assert any(
        p.startswith(f"event 0: {field}: ") and f"is not a '{format_name}'" in p for p in problems
    ), problems


@pytest.mark.parametrize(("breaking", "index", "reason"), BROKEN)
def test_oretrails_own_rules_refuse_without_the_schema(
    breaking: Callable[[dict[str, Any]], None], index: int, reason: str
) -> None:
    """Where the official schema is not at hand, the reader's own checks still refuse."""
    document = good_document()
    breaking(document)
    registry = load_registry(CONFIG_DIR / "registry.toml")
    with pytest.raises(EpcisRefused) as refused:
        read_epcis(
            [("doc", json.dumps(document))],
            ORG,
            Gs1Directory.from_registry(registry),
            known_facilities=["urn:oretrail:facility:boreal-cobalt:kokkola-refinery"],
        )
    assert any(
        p.startswith(f"doc: event {index}: ") and reason in p for p in refused.value.problems
    ), refused.value.problems
