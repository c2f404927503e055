"""The official standards artefacts (schemas, contexts, examples) tests validate against.

They are test material, never copied into the project: ``$ORETRAIL_STANDARDS``, else a
``shared/standards`` folder in a parent of the checkout, else /work/shared/standards.
When none is there the tests that need them are skipped, with the reason, and in CI
(``$CI`` set) they fail instead: there they must run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry

__all__ = ["battery_pass_validator", "standards_dir", "untp_validator", "vc_validator"]

_ROOT = Path(__file__).resolve().parents[2]
# A registry whose retrieval of any unknown $ref fails (referencing's default), so that
# jsonschema never reaches for the network.
_OFFLINE: Registry[Any] = Registry()


def _candidates() -> list[Path]:
    found = []
    given = os.environ.get("ORETRAIL_STANDARDS")
    if given:
        found.append(Path(given))
    found += [parent / "shared" / "standards" for parent in _ROOT.parents]
    found.append(Path("/work/shared/standards"))
    return found


def standards_dir() -> Path:
    """The standards folder; skips the test (fails it in CI) when there is none."""
    for candidate in _candidates():
        if (candidate / "untp").is_dir() and (candidate / "batterypass").is_dir():
            return candidate
    reason = (
        "the official standards artefacts are not here (set ORETRAIL_STANDARDS, or place "
        "shared/standards beside the checkout): schema validation not run"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def untp_validator(kind: str = "dpp") -> Draft202012Validator:
    """The UNTP 0.6.1 JSON Schema of ``kind`` (dpp, dte, dcc, dfr), with formats checked."""
    schema = _load(standards_dir() / "untp" / f"untp-{kind}" / f"untp-{kind}-schema.json")
    return Draft202012Validator(schema, registry=_OFFLINE, format_checker=FormatChecker())


def vc_validator() -> Draft202012Validator:
    """The W3C VC 2.0 JSON Schema (non-normative), offline."""
    schema = _load(standards_dir() / "vc" / "schema" / "verifiable-credential-schema.json")
    return Draft202012Validator(schema, registry=_OFFLINE, format_checker=FormatChecker())


_ASPECTS = {
    "supplyChainDueDiligence": "SupplyChainDueDiligence/1.2.0/gen/SupplyChainDueDiligence",
    "materialComposition": "MaterialComposition/1.2.0/gen/MaterialComposition",
    "circularity": "Circularity/1.2.0/gen/Circularity",
    "carbonFootprint": "CarbonFootprint/1.2.0/gen/CarbonFootprintForBatteries",
}


def battery_pass_validator(aspect: str) -> Draft4Validator:
    """The Battery Pass 1.2.0 JSON Schema (draft-04) of one aspect, by our property name."""
    path = standards_dir() / "batterypass" / f"io.BatteryPass.{_ASPECTS[aspect]}-schema.json"
    return Draft4Validator(_load(path), registry=_OFFLINE, format_checker=FormatChecker())
