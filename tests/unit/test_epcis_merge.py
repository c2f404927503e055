"""An import adds to what the store holds: the same document twice changes nothing,
a new lot is added beside the others, a lot imported again replaces the one held."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from oretrail.cli import main
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR
from tests.support.epcis import run_import
from tests.support.standards_files import epcis_schema_path

ORG = "boreal-cobalt"


@pytest.fixture
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "boreal.jsonld"
    assert (
        main(["--config", str(CONFIG_DIR), "export", "epcis", "--org", ORG, "--out", str(path)])
        == 0
    )
    capsys.readouterr()
    return path


def test_importing_a_stores_own_export_twice_changes_nothing(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / f"{ORG}.toml"
    shutil.copyfile(SEED_DIR / f"{ORG}.toml", store)
    schema = epcis_schema_path()
    assert run_import(capsys, CONFIG_DIR, ORG, store, schema, exported)[0] == 0
    once = store.read_text(encoding="utf-8")
    assert run_import(capsys, CONFIG_DIR, ORG, store, schema, exported)[0] == 0
    assert store.read_text(encoding="utf-8") == once
    original = load_seed(SEED_DIR / f"{ORG}.toml")
    assert replace(load_seed(store), source=original.source) == original


def test_a_new_lot_is_added_and_a_lot_imported_again_replaces_the_one_held(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / f"{ORG}.toml"
    shutil.copyfile(SEED_DIR / f"{ORG}.toml", store)
    document = json.loads(exported.read_text(encoding="utf-8"))
    made = document["epcisBody"]["eventList"][0]
    # CS-2026-102 again with 13 t instead of 14 t, and a new lot CS-2026-199 of 7 t
    # made from CS-2026-102 (an input of our own, defined in the store).
    made["outputQuantityList"][0]["quantity"] = 13
    again = json.loads(json.dumps(made))
    again["eventID"] = "urn:uuid:00000000-0000-4000-8000-000000000003"
    again["inputQuantityList"] = [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:CS-2026-102", "quantity": 7, "uom": "TNE"}
    ]
    again["outputQuantityList"] = [
        {"epcClass": "urn:oretrail:lot:boreal-cobalt:CS-2026-199", "quantity": 7, "uom": "TNE"}
    ]
    document["epcisBody"]["eventList"] = [made, again]
    path = tmp_path / "more.jsonld"
    path.write_text(json.dumps(document), encoding="utf-8")
    status, out, err = run_import(capsys, CONFIG_DIR, ORG, store, epcis_schema_path(), path)
    assert status == 0, err
    assert "2 lots, 2 input links, 0 shipments" in out
    lots = {lot.id.rsplit(":", 1)[1]: lot for lot in load_seed(store).lots}
    # CS-2026-103, the product line's second sulfate, was in the store and stays.
    assert set(lots) == {"CS-2026-102", "CS-2026-103", "CS-2026-199"}
    assert lots["CS-2026-102"].quantity.value == 13.0
    assert [(link.lot, link.quantity.value) for link in lots["CS-2026-199"].inputs] == [
        ("urn:oretrail:lot:boreal-cobalt:CS-2026-102", 7.0)
    ]
    # The two shipments and the certificate the store held are still there.
    assert len(load_seed(store).shipments) == 2
    assert len(load_seed(store).certificates) == 1
