"""A config folder for EPCIS import tests: the parties of GS1's official examples
registered as participants, and running ``oretrail import epcis`` in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oretrail.cli import main

__all__ = ["EXAMPLE_REGISTRY", "example_config", "run_import"]

ROOT = Path(__file__).resolve().parents[2]

# The companies of the official examples, by GS1 company prefix, with the party and
# location identifiers the examples name.
EXAMPLE_REGISTRY = """\
[[participants]]
id = "gs1-4012345"
name = "Example company 4012345"
roles = ["REFINER"]
country = "DE"
[participants.gs1]
pgln = "urn:epc:id:pgln:4012345.00000"
locations = { plant = "urn:epc:id:sgln:4012345.00001.0" }

[[participants]]
id = "gs1-0614141"
name = "Example company 0614141"
roles = ["CATHODE"]
country = "US"
[participants.gs1]
pgln = "urn:epc:id:pgln:0614141.00000"
locations = { dc = "urn:epc:id:sgln:0614141.00001.0" }

[[participants]]
id = "gs1-9520001"
name = "Example company 9520001"
roles = ["TRADER"]
country = "BE"
gs1 = { pgln = "urn:epc:id:pgln:9520001.11111" }

[[participants]]
id = "gs1-9520999"
name = "Example company 9520999"
roles = ["CELL"]
country = "BE"
gs1 = { pgln = "urn:epc:id:pgln:9520999.99999" }
"""


def example_config(tmp_path: Path) -> Path:
    """A config folder whose registry holds the examples' companies."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "registry.toml").write_text(EXAMPLE_REGISTRY, encoding="utf-8")
    shutil.copyfile(ROOT / "config" / "gateway.toml", config / "gateway.toml")
    return config


def run_import(
    capsys: pytest.CaptureFixture[str],
    config: Path,
    org: str,
    seed: Path,
    schema: Path,
    *files: Path,
) -> tuple[int, str, str]:
    """``oretrail import epcis`` in this process: exit status, stdout, stderr."""
    status = main(
        [
            "--config",
            str(config),
            "import",
            "epcis",
            *(str(f) for f in files),
            "--org",
            org,
            "--seed",
            str(seed),
            "--schema",
            str(schema),
        ]
    )
    out, err = capsys.readouterr()
    return status, out, err
