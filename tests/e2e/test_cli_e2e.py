"""The `oretrail` command as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from oretrail.auth.callers import UserIdentity, verify_certificate
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.pinned import load_pinned
from oretrail.bootstrap import Federation
from tests.conftest import CONFIG_DIR, ROOT, SEED_DIR, free_port

pytestmark = pytest.mark.e2e


def oretrail(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_the_demo_prints_the_report_and_leaves_nothing_running() -> None:
    started = time.monotonic()
    run = oretrail("demo", "--as-of", "2026-11-26")
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stderr
    assert elapsed < 60
    out = run.stdout
    assert "Kasulo artisanal mining site [ASM, CAHRA]" in out
    assert "Coverage" in out
    assert "MASS_BALANCE" in out
    assert "RMAP audit RMAP-2022-NNR-112 expired on 2025-06-30" in out
    assert "urn:oretrail:lot:nordvolt:PACK-2026-0412" in out
    # The figures tests/e2e/test_transparency_e2e.py computes by hand: Norway's and
    # Germany's recycled cobalt (two and one recyclers) are not published.
    assert "cobalt-origin-countries: CD 74.4 %\n" in out
    assert "artisanal-share: NOT_ASM 68.7 %, ASM 31.3 %" in out
    assert "rivalauto: refused" in out
    # The pack's passports: the DPP signed by nordvolt's organisation key, Co 1.098 % of the
    # pack from CD (2.4/2.9 of it: 0.91 %) and NO (0.5/2.9: 0.19 %, recycled), Li 68.5 %
    # verified, and the battery's 72.0 kgCO2e/kWh x 3,750 kWh = 270,000 kgCO2e.
    assert "Passports of urn:oretrail:lot:nordvolt:PACK-2026-0412" in out
    assert "UNTP DPP 0.6.1 as vc+jwt" in out
    assert "cobalt (Co): CD 0.91 %, NO 0.19 % (100.0 % recycled)" in out
    assert "lithium (Li) 68.5 %" in out
    assert "not conforming: RMAP-2022-NNR-112" in out
    assert "Cobalt 17.2 % post / 0.0 % pre" in out
    assert "carbon footprint 72.0 kgCO2e/kWh (270,000 kgCO2e" in out
    # Progress goes to stderr, the report to stdout.
    match = re.search(r"Gateway at http://127\.0\.0\.1:(\d+)/graphql", run.stderr)
    assert match is not None
    # The gateway's port is closed again: the demo stopped its servers on the way out.
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=2),
    ):
        pass


def test_the_demo_runs_on_neo4j(neo4j_uri: str) -> None:
    run = oretrail("demo", "--as-of", "2026-11-26", "--neo4j", neo4j_uri)
    assert run.returncode == 0, run.stderr
    assert f"on Neo4j at {neo4j_uri}" in run.stderr
    assert "Kasulo artisanal mining site [ASM, CAHRA]" in run.stdout
    assert "RMAP audit RMAP-2022-NNR-112 expired on 2025-06-30" in run.stdout


def test_graph_init_and_load_report_what_they_did(neo4j_uri: str) -> None:
    init = oretrail("graph", "init", "--uri", neo4j_uri)
    assert init.returncode == 0, init.stderr
    assert "migrations applied" in init.stdout
    load = oretrail("graph", "load", "--uri", neo4j_uri, "--org", "circulo-recycling")
    assert load.returncode == 0, load.stderr
    assert load.stdout.strip() == "loaded circulo-recycling: 3 lots"


def test_graph_commands_name_an_unreachable_neo4j() -> None:
    run = oretrail("graph", "init", "--uri", f"bolt://127.0.0.1:{free_port()}")
    assert run.returncode == 2
    assert "Neo4j is unavailable" in run.stderr
    assert "Traceback" not in run.stderr


def user_file(directory: Path, federation: Federation, org: str) -> str:
    """A user of ``org`` saved as the CLI reads it (key and certificate)."""
    return str(federation.user(org).save(directory))


def test_keys_are_made_per_party_certified_and_exported_without_private_parts(
    tmp_path: Path,
) -> None:
    keys = oretrail("keys", "generate", "--dir", str(tmp_path))
    assert keys.returncode == 0, keys.stderr
    assert (tmp_path / "gateway" / "gateway.pem").stat().st_mode & 0o077 == 0
    assert (tmp_path / "nordvolt" / "org.pem").stat().st_mode & 0o077 == 0
    before = (tmp_path / "nordvolt" / "node.pem").read_bytes()
    again = oretrail("keys", "generate", "--dir", str(tmp_path), "--party", "nordvolt")
    assert again.returncode == 0
    assert "left alone" in again.stdout
    assert (tmp_path / "nordvolt" / "node.pem").read_bytes() == before
    certified = oretrail(
        "keys", "certify", "--org", "nordvolt", "--sub", "ann", "--dir", str(tmp_path)
    )
    assert certified.returncode == 0, certified.stderr
    user = UserIdentity.load(tmp_path / "nordvolt" / "users" / "ann.pem")
    exported = oretrail("keys", "export", "--dir", str(tmp_path), "--party", "boreal-cobalt")
    assert exported.returncode == 0, exported.stderr
    pinned = load_pinned(tmp_path / "boreal-cobalt" / "pinned.json")
    assert "PRIVATE" not in (tmp_path / "boreal-cobalt" / "pinned.json").read_text()
    verified = asyncio.run(verify_certificate(user.certificate, pinned.org_keys))
    assert (verified.org, verified.sub) == ("nordvolt", "ann")
    long = oretrail("keys", "certify", "--org", "nordvolt", "--sub", "x", "--hours", "13")
    assert long.returncode == 2
    assert "at most 12" in long.stderr
    unknown = oretrail("keys", "generate", "--dir", str(tmp_path), "--party", "nobody")
    assert unknown.returncode == 2
    assert "'nobody' is not in the registry" in unknown.stderr


def test_approved_queries_are_listed_approved_and_run(
    tmp_path: Path, federation: Federation
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    keys = tmp_path / "keys"
    assert oretrail("--config", str(config), "keys", "generate", "--dir", str(keys)).returncode == 0
    before = oretrail("--config", str(config), "approved", "list")
    assert "approver nordvolt: NOT SIGNED" in before.stdout
    approve = oretrail(
        "--config", str(config), "approved", "approve", "--org", "nordvolt", "--keys", str(keys)
    )
    assert approve.returncode == 0, approve.stderr
    assert "cobalt-origin-countries" in approve.stdout
    after = oretrail("--config", str(config), "approved", "list")
    assert "NOT SIGNED" not in after.stdout
    ngo = user_file(tmp_path, federation, "transparency-watch")
    run = oretrail(
        "approved",
        "run",
        "refiner-audit-coverage",
        "productLine=nordvolt-packs-2026",
        "--gateway",
        federation.gateway_url,
        "--user",
        ngo,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"AUDITED"' in run.stdout
    bad = oretrail(
        "approved",
        "run",
        "refiner-audit-coverage",
        "productLine=elsewhere",
        "--gateway",
        federation.gateway_url,
        "--user",
        ngo,
    )
    assert bad.returncode == 2
    assert "must be one of" in bad.stdout


def test_seed_check_passes_on_the_sample() -> None:
    run = oretrail("seed", "check")
    assert run.returncode == 0, run.stderr
    # 17 files and 19 lots; the copper and rare-earth chains of issue 15 add 8 files and
    # 13 lots (docs/sample-data.md, "Copper and rare earths"); the product line's second
    # pack adds 6 files and 12 lots ("The product line"): 31 files, 44 lots.
    assert "31 seed files, 44 lots: all valid" in run.stdout


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "value = 4.05,",
            "value = -4.05,",
            "lot CELL-2026-1187 inputs[0]: quantity -4.05 must be positive",
        ),
        (
            'lot = "urn:oretrail:lot:terra-anode:AN-2026-019"',
            'lot = "urn:oretrail:lot:aurora-cells:CELL-2026-1187"',
            "lists itself as an input",
        ),
        (
            'lot = "urn:oretrail:lot:terra-anode:AN-2026-019"',
            'lot = "urn:oretrail:lot:shadow-refinery:X-1"',
            "organisation 'shadow-refinery' is not in the registry",
        ),
        (
            'unit = "t" }',
            'unit = "T" }',
            "quantity: unit 'T' is not one of the mass units 'kg', 't'",
        ),
        (
            'lot = "urn:oretrail:lot:terra-anode:AN-2026-019"',
            'lot = "urn:oretrail:lot:aurora-cells:CELL-2026-0001"',
            "input urn:oretrail:lot:aurora-cells:CELL-2026-0001 is ours but no lot of this file",
        ),
    ],
)
def test_seed_check_names_a_broken_seed_without_a_traceback(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    for path in SEED_DIR.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "aurora-cells.toml"
    text = broken.read_text(encoding="utf-8")
    assert old in text
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    run = oretrail("--config", str(CONFIG_DIR), "seed", "check", str(tmp_path))
    assert run.returncode == 2
    assert message in run.stderr
    assert str(broken) in run.stderr
    assert "Traceback" not in run.stderr


def sample_copy(tmp_path: Path) -> Path:
    for path in SEED_DIR.glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_seed_check_reports_every_problem_of_every_file_in_one_run(tmp_path: Path) -> None:
    seeds = sample_copy(tmp_path)
    cells, lithium = seeds / "aurora-cells.toml", seeds / "coastal-lithium.toml"
    edit(cells, 'unit = "t" }', 'unit = "tonne" }')
    edit(cells, "urn:oretrail:lot:terra-anode:AN-2026-019", "urn:oretrail:lot:aurora-cells:GHOST")
    edit(lithium, "Li = ", "LI = ")
    run = oretrail("--config", str(CONFIG_DIR), "seed", "check", str(seeds))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    problems = [line for line in lines if line.startswith(f"oretrail: {seeds}")]
    assert len(problems) == 3, run.stderr
    assert "unit 'tonne' is not one of the mass units" in problems[0]
    assert "input urn:oretrail:lot:aurora-cells:GHOST is ours but no lot" in problems[1]
    assert str(cells) in problems[0]
    assert str(cells) in problems[1]
    assert problems[2].startswith(f"oretrail: {lithium}: ")
    assert "'LI' is not an element symbol" in problems[2]
    assert lines[-1] == "oretrail: 3 problems in the seed files; fix them and check again"


def test_case_sample_lithium_lot_in_tonne_is_refused_by_seed_check(tmp_path: Path) -> None:
    # The third variant of the case lot-unit-variant-disables-mass-balance.
    seeds = sample_copy(tmp_path)
    lithium = seeds / "coastal-lithium.toml"
    edit(
        lithium,
        'quantity = { value = 10, unit = "t" }',
        'quantity = { value = 10, unit = "tonne" }',
    )
    run = oretrail("--config", str(CONFIG_DIR), "seed", "check", str(seeds))
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == (
        f"oretrail: {lithium}: lot LH-2026-061: quantity: unit 'tonne' is not one of the mass "
        "units 'kg', 't' (spelled exactly: no other spelling is accepted)"
    )


def test_seed_check_warns_of_a_lot_shipped_beyond_its_quantity_but_passes(
    tmp_path: Path,
) -> None:
    seeds = sample_copy(tmp_path)
    lithium = seeds / "coastal-lithium.toml"
    text = lithium.read_text(encoding="utf-8")
    # LH-2026-061 holds 10 t; a second shipment of 7 t to the cathode maker makes
    # it shipped for 4.3 t + 7 t = 11.3 t (the sample ships 4.3 t of it).
    assert 'quantity = { value = 4.3, unit = "t" }' in text
    lithium.write_text(
        text
        + "\n[[shipments]]\n"
        + 'lot = "urn:oretrail:lot:coastal-lithium:LH-2026-061"\n'
        + 'to = "helios-cathode"\ndate = 2026-03-01\n'
        + 'quantity = { value = 7, unit = "t" }\n',
        encoding="utf-8",
    )
    run = oretrail("--config", str(CONFIG_DIR), "seed", "check", str(seeds))
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        f"oretrail: warning: {lithium}: lot LH-2026-061 is shipped for 11.3 t, "
        "more than its quantity of 10 t"
    ]
    assert "31 seed files, 44 lots: all valid, 1 warning" in run.stdout


def test_serving_a_node_from_a_broken_seed_fails_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "nordvolt.toml"
    text = (SEED_DIR / "nordvolt.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("value = 22.5", "value = -22.5"), encoding="utf-8")
    keys = oretrail("keys", "generate", "--dir", str(tmp_path / "keys"))
    assert keys.returncode == 0, keys.stderr
    assert oretrail("keys", "export", "--dir", str(tmp_path / "keys")).returncode == 0
    run = oretrail(
        "serve",
        "node",
        "--org",
        "nordvolt",
        "--seed",
        str(bad),
        "--port",
        "1",
        "--keys",
        str(tmp_path / "keys"),
    )
    assert run.returncode == 2
    assert "quantity -22.5 must be positive" in run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.splitlines()) == 1


def test_trace_against_a_running_gateway_prints_the_report(
    federation: Federation, tmp_path: Path
) -> None:
    run = oretrail(
        "trace",
        "urn:oretrail:lot:nordvolt:PACK-2026-0412",
        "--gateway",
        federation.gateway_url,
        "--as-of",
        "2026-11-26",
        "--user",
        user_file(tmp_path, federation, "nordvolt"),
    )
    assert run.returncode == 0, run.stderr
    assert "Kambove open pit and hydroxide plant" in run.stdout


def test_trace_without_a_user_key_says_how_to_get_one(
    federation: Federation, tmp_path: Path
) -> None:
    run = oretrail(
        "trace", "urn:oretrail:lot:nordvolt:PACK-2026-0412", "--gateway", federation.gateway_url
    )
    assert run.returncode == 2
    assert "a user key is needed" in run.stderr
    # A user certified by a key no node pins (another federation's nordvolt).
    stranger = FederationKeys.generate(["nordvolt"]).user("nordvolt").save(tmp_path)
    forged = oretrail(
        "trace",
        "urn:oretrail:lot:nordvolt:PACK-2026-0412",
        "--gateway",
        federation.gateway_url,
        "--user",
        str(stranger),
    )
    assert forged.returncode == 2
    assert "unauthenticated" in forged.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-lot"], "does not start with 'urn:oretrail:lot:'"),
        (["urn:oretrail:lot:nordvolt:NOPE"], "is not known to its owner 'nordvolt'"),
        (
            ["urn:oretrail:lot:nordvolt:PACK-2026-0412", "--max-depth", "0"],
            "maxDepth 0 is out of range",
        ),
        (
            ["urn:oretrail:lot:nordvolt:PACK-2026-0412", "--max-depth", "1000000"],
            "maxDepth 1000000 is out of range",
        ),
    ],
)
def test_trace_reports_bad_input_in_one_line(
    federation: Federation, args: list[str], message: str, tmp_path: Path
) -> None:
    user = user_file(tmp_path, federation, "nordvolt")
    run = oretrail("trace", *args, "--gateway", federation.gateway_url, "--user", user)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_trace_without_a_gateway_says_it_cannot_reach_it(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = oretrail(
        "trace",
        "urn:oretrail:lot:nordvolt:PACK-2026-0412",
        "--gateway",
        f"http://127.0.0.1:{port}/graphql",
        "--user",
        str(FederationKeys.generate(["nordvolt"]).user("nordvolt").save(tmp_path)),
    )
    assert run.returncode == 2
    assert "cannot reach the gateway" in run.stderr


def test_every_command_has_help() -> None:
    for command in (
        ["graph", "server", "--help"],
        ["keys", "generate", "--help"],
        ["keys", "certify", "--help"],
        ["keys", "export", "--help"],
        ["request", "sign", "--help"],
        ["approved", "sign-roots", "--help"],
        ["node", "audit", "--help"],
        ["approved", "list", "--help"],
        ["approved", "approve", "--help"],
        ["approved", "run", "--help"],
        ["graph", "init", "--help"],
        ["graph", "load", "--help"],
        ["--help"],
        ["demo", "--help"],
        ["serve", "node", "--help"],
        ["serve", "gateway", "--help"],
        ["trace", "--help"],
        ["seed", "check", "--help"],
        ["schema", "--help"],
    ):
        run = oretrail(*command)
        assert run.returncode == 0
        assert "usage: oretrail" in run.stdout


async def test_a_request_signed_by_the_cli_is_answered_once_as_curl_would_send_it(
    federation: Federation, tmp_path: Path
) -> None:
    payload = {"query": "{ participants { id } }"}
    (tmp_path / "payload.json").write_text(json.dumps(payload), encoding="utf-8")
    user = user_file(tmp_path, federation, "nordvolt")
    signed = oretrail("request", "sign", str(tmp_path / "payload.json"), "--user", user)
    assert signed.returncode == 0, signed.stderr
    headers = dict(line.split(": ", 1) for line in signed.stdout.splitlines())
    assert set(headers) == {"Authorization", "oretrail-user-certificate"}
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.post(federation.gateway_url, json=payload, headers=headers) as r:
                statuses.append((r.status, "errors" in await r.json()))
    assert statuses == [(200, False), (401, True)]
