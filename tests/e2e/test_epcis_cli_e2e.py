"""`oretrail export epcis` and `oretrail import epcis` as a user runs them: subprocesses,
their output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_DIR
from tests.support.standards_files import epcis_schema_path

pytestmark = pytest.mark.e2e


def oretrail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_an_export_goes_to_stdout_and_a_broken_import_exits_2_naming_the_event(
    tmp_path: Path,
) -> None:
    schema = str(epcis_schema_path())
    exported = oretrail("export", "epcis", "--org", "kasulo-coop", "--schema", schema)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    # Kasulo's one lot (ore mined at its artisanal site) and its one shipment.
    assert [e["bizStep"] for e in document["epcisBody"]["eventList"]] == [
        "urn:oretrail:bizstep:mining",
        "shipping",
    ]
    document["epcisBody"]["eventList"][1]["quantityList"][0]["uom"] = "LBR"
    broken = tmp_path / "broken.jsonld"
    broken.write_text(json.dumps(document), encoding="utf-8")
    store = tmp_path / "kasulo-coop.toml"
    shutil.copyfile(SEED_DIR / "kasulo-coop.toml", store)
    before = store.read_bytes()
    run = oretrail(
        "import", "epcis", str(broken), "--org", "kasulo-coop", "--seed", str(store),
        "--schema", schema,
    )  # fmt: skip
    assert run.returncode == 2
    assert f"oretrail: {broken}: event 1: quantityList[0]: unit 'LBR'" in run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert store.read_bytes() == before
