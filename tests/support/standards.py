"""The official standards artefacts (../shared/standards): schemas, contexts, examples.

They are GS1's, UN/CEFACT's and W3C's files, not the project's: tests read them from
``$ORETRAIL_STANDARDS``, else from the first ``shared/standards`` beside the
repository or one of its parent folders, else from the workspace's own. When they are
nowhere, the tests that need them are skipped with the folders looked in: reported
as not run, never as passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["epcis_examples", "epcis_schema_path", "standards_dir"]

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE_STANDARDS = Path("/work/shared/standards")


def standards_dir() -> Path:
    """The standards folder, or a pytest skip naming every folder looked in."""
    given = os.environ.get("ORETRAIL_STANDARDS")
    if given:
        candidates = [Path(given)]
    else:
        candidates = [parent / "shared" / "standards" for parent in ROOT.parents]
        candidates.append(WORKSPACE_STANDARDS)
    for path in candidates:
        if (path / "epcis").is_dir():
            return path.resolve()
    pytest.skip(
        "official standards files not found in any of "
        f"{[str(c) for c in candidates]}: set ORETRAIL_STANDARDS to run these tests"
    )


def epcis_schema_path() -> Path:
    return standards_dir() / "epcis" / "EPCIS-JSON-Schema.json"


def epcis_examples() -> Path:
    return standards_dir() / "epcis" / "examples"
