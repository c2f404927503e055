"""The README's promise: in a fresh clone, its one demo command installs and runs the demo."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def readme_command(section: str) -> str:
    """The command in the first ```sh block under a README heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"## {section}\n.*?```sh\n(.+?)\n```", text, flags=re.S)
    assert match is not None, f"README has no ```sh block under '## {section}'"
    return match.group(1).strip()


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_command("Run the tests") in ci


def test_the_readme_demo_command_works_in_a_fresh_clone(tmp_path: Path) -> None:
    command = readme_command("Try it")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=60)
    started = time.monotonic()
    run = subprocess.run(
        ["bash", "-c", f"{command} --as-of 2026-11-26"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Trace of urn:oretrail:lot:nordvolt:PACK-2026-0412" in run.stdout
    assert "Kasulo artisanal mining site" in run.stdout
    assert "Passports of urn:oretrail:lot:nordvolt:PACK-2026-0412" in run.stdout
    assert elapsed < 60, f"install and demo took {elapsed:.0f} s"
