"""`oretrail report`, `oretrail risk-record` and the demo's outcomes, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from oretrail.auth.party_keys import save_member_keys
from oretrail.bootstrap import Federation, FederationConfig
from tests.conftest import ROOT, served_federation

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(
    sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """The sample federation with a gateway model of this module's own: the products it
    traces and the records it keeps reach no other module (the shared one is journalled
    for the whole session)."""
    model = replace(sample_config.settings.model, data_dir=tmp_path_factory.mktemp("model"))
    config = replace(sample_config, settings=replace(sample_config.settings, model=model))
    with served_federation(config) as running:
        yield running


DRIVE_UNIT = "urn:oretrail:lot:nordvolt:EDU-2026-0412"
KACHIN = "urn:oretrail:lot:kachin-clay:MRC-2026-003"


def oretrail(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_the_demo_prints_the_outcomes_of_the_pack_and_the_drive_unit() -> None:
    run = oretrail("demo", "--as-of", "2026-11-26")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "Outcomes of urn:oretrail:lot:nordvolt:PACK-2026-0419" in out
    assert "Outcomes of urn:oretrail:lot:nordvolt:EDU-2026-0412" in out
    # 2.4/2.9 = 82.76 % of the cobalt passed only audited refiners; 0.5/2.9 recycled.
    assert "NOT_MET  cobalt            Co  AUDITED_PROCESSORS   82.76 % (needs >= 95 %)" in out
    assert "MET      cobalt            Co  RECYCLED_CONTENT     17.24 % (needs >= 16 %)" in out
    # 500/564 = 88.65 % of the dysprosium from the artisanal Kachin site, unmanaged.
    assert "NOT_MET  rare-earths       Dy  RED_FLAGS_MANAGED    88.65 % (needs <= 0 %)" in out


def test_a_record_signed_and_submitted_by_the_cli_shows_in_the_report(
    federation: Federation, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    save_member_keys(federation.keys.member("nordvolt"), keys)
    user = str(federation.user("nordvolt").save(tmp_path))
    signed = oretrail(
        "risk-record", "sign", "--org", "nordvolt", "--flag", "ASM_ORIGIN", "--lot", KACHIN,
        "--decision", "DISENGAGE", "--rationale", "No new orders of Kachin carbonate",
        "--keys", str(keys),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    record = tmp_path / "record.jws"
    record.write_text(signed.stdout, encoding="utf-8")
    submitted = oretrail(
        "risk-record", "submit", str(record), "--gateway", federation.gateway_url, "--user", user
    )
    assert submitted.returncode == 0, submitted.stderr
    assert f"DISENGAGE on ASM_ORIGIN {KACHIN}" in submitted.stdout
    report = tmp_path / "report.md"
    run = oretrail(
        "report", DRIVE_UNIT, "--gateway", federation.gateway_url, "--user", user,
        "--as-of", "2026-11-26", "--output", str(report),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Due-diligence report: electric drive unit (50 x 90 kg)")
    # The ASM flag is managed, the CAHRA flag on the same lot is not: still not met.
    assert f"| ASM_ORIGIN | {KACHIN} | Dy 88.65 %, Tb 90.91 % | managed: " in text
    assert f"| CAHRA_ORIGIN | {KACHIN} | Dy 88.65 %, Tb 90.91 % | no record |" in text
    assert "| Dy | NOT_MET | 88.65 % |" in text


def test_a_record_without_a_plan_is_refused_without_a_traceback(
    federation: Federation, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    save_member_keys(federation.keys.member("nordvolt"), keys)
    run = oretrail(
        "risk-record", "sign", "--org", "nordvolt", "--flag", "ASM_ORIGIN", "--lot", KACHIN,
        "--decision", "MITIGATE", "--rationale", "   ", "--keys", str(keys),
    )  # fmt: skip
    assert run.returncode == 2
    assert "rationale is empty" in run.stderr
    assert "Traceback" not in run.stderr
