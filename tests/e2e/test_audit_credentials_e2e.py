"""Audit credentials on real servers: nodes present vc+jwt audit certificates with their
facilities, the gateway checks each (issuer, signature, status list, validity on the
lot's production date) and says which in the risk flags; a revocation published by
the auditor's node takes effect on the next trace, with nothing restarted."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.keys import SigningKey, generate_signing_key
from oretrail.auth.party_keys import FederationKeys, save_member_keys
from oretrail.bootstrap import Federation, FederationConfig, approve_as_members
from oretrail.config import Registry
from oretrail.report import TRACE_EVIDENCE_QUERY, TRACE_QUERY
from oretrail.standards.audit_credentials import issue_audit_credential, sign_status_list
from oretrail.verify import verify_evidence
from tests.conftest import PACK, ROOT, SEED_DIR, graphql, oem_token, served_federation

pytestmark = pytest.mark.e2e

AS_OF = "2026-11-26"
LOT = "urn:oretrail:lot:"
FACILITY = "urn:oretrail:facility:"
# The auditor's registered endpoint (config/registry.toml) names where its lists live;
# the gateway reads them from the auditor's endpoint in its pinned copy.
LIST_URL = "http://127.0.0.1:8116/credentials/status/1"
# The auditor asks verifiers to cache its list for 0.2 s (the spec's ttl, in ms).
TTL_MS = 200
BOREAL_INDEX = 3
NICKEL_INDEX = 5


@dataclass
class Running:
    federation: Federation
    auditor: SigningKey
    status_file: Path
    roles: dict[str, list[str]]


def credential(
    key: SigningKey, cert: str, facility: str, valid: tuple[date, date], index: int
) -> str:
    return issue_audit_credential(
        key,
        certificate_id=cert,
        facility=FACILITY + facility,
        standard="RMAP",
        scope="refiner assessment",
        valid_from=valid[0],
        valid_until=valid[1],
        status_list=LIST_URL,
        status_index=index,
    )


def with_credential(source: Path, target: Path, cert: str, token: str) -> None:
    """The seed file with ``credential`` added to its certificate record ``cert``."""
    text = source.read_text(encoding="utf-8")
    marker = f'id = "{cert}"\n'
    assert text.count(marker) == 1, (source, cert)
    target.write_text(text.replace(marker, f'{marker}credential = "{token}"\n'), encoding="utf-8")


@pytest.fixture(scope="module")
def running(
    sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    seeds = tmp_path_factory.mktemp("seeds")
    keys = FederationKeys.generate(sample_config.registry.participants)
    auditor = keys.member("assurance-partners").org_key
    # Same issuer and key id as the auditor's organisation key, another private key.
    forger = generate_signing_key(auditor.issuer, auditor.kid)
    not_an_auditor = keys.member("helios-cathode").org_key
    # Boreal's RMAP audit, as the plain record says: valid 2025-05-01 to 2028-04-30.
    genuine = credential(
        auditor,
        "RMAP-2025-BCR-031",
        "boreal-cobalt:kokkola-refinery",
        (date(2025, 5, 1), date(2028, 4, 30)),
        BOREAL_INDEX,
    )
    forged = credential(
        forger,
        "RMAP-2025-CLH-020",
        "coastal-lithium:cockburn-converter",
        (date(2025, 10, 1), date(2028, 9, 30)),
        7,
    )
    unknown = credential(
        not_an_auditor,
        "RMAP-2025-SNH-007",
        "sulawesi-hpal:morowali-hpal",
        (date(2025, 9, 1), date(2028, 8, 31)),
        8,
    )
    # Nordic Nickel's RMAP audit ran 2022-07-01 to 2025-06-30; its lot was made 2026-03-01.
    expired = credential(
        auditor,
        "RMAP-2022-NNR-112",
        "nordic-nickel:satakunta-refinery",
        (date(2022, 7, 1), date(2025, 6, 30)),
        NICKEL_INDEX,
    )
    changed = {
        "boreal-cobalt": ("RMAP-2025-BCR-031", genuine),
        "coastal-lithium": ("RMAP-2025-CLH-020", forged),
        "sulawesi-hpal": ("RMAP-2025-SNH-007", unknown),
        "nordic-nickel": ("RMAP-2022-NNR-112", expired),
    }
    participants = dict(sample_config.registry.participants)
    for org, (cert, token) in changed.items():
        with_credential(SEED_DIR / f"{org}.toml", seeds / f"{org}.toml", cert, token)
        participants[org] = replace(participants[org], seed=seeds / f"{org}.toml")
    # The auditor's node serves the lists beside its seed: <seed dir>/status/<org>/.
    shutil.copy(SEED_DIR / "assurance-partners.toml", seeds / "assurance-partners.toml")
    participants["assurance-partners"] = replace(
        participants["assurance-partners"], seed=seeds / "assurance-partners.toml"
    )
    status_file = seeds / "status" / "assurance-partners" / "1.jwt"
    status_file.parent.mkdir(parents=True)
    status_file.write_text(sign_status_list(auditor, LIST_URL, set(), ttl_ms=TTL_MS))
    config = replace(sample_config, registry=Registry(participants))
    approve_as_members(config, keys)
    with served_federation(config, keys=keys) as federation:
        roles = {org: [str(r) for r in p.roles] for org, p in participants.items()}
        yield Running(federation, auditor, status_file, roles)


async def audit_flags(federation: Federation) -> dict[str, str]:
    body = await graphql(
        federation.gateway_url,
        TRACE_QUERY,
        {"lot": PACK, "asOf": AS_OF},
        token=oem_token(federation),
    )
    assert "errors" not in body, body
    risks: list[dict[str, Any]] = body["data"]["trace"]["risks"]
    return {r["lot"]: r["evidence"] for r in risks if r["kind"] == "UNAUDITED_PROCESSOR"}


async def test_forged_expired_unknown_and_valid_credentials_each_say_which(
    running: Running,
) -> None:
    flags = await audit_flags(running.federation)
    # Valid: Boreal's refinery is audited on its lot's production day (2026-03-04).
    assert f"{LOT}boreal-cobalt:CS-2026-102" not in flags
    forged = flags[f"{LOT}coastal-lithium:LH-2026-061"]
    assert "RMAP audit credential RMAP-2025-CLH-020 does not verify" in forged
    assert forged.endswith("(FORGED)")
    unknown = flags[f"{LOT}sulawesi-hpal:MHP-2026-045"]
    assert unknown.endswith("is not issued by a registered auditor (UNKNOWN_ISSUER)")
    expired = flags[f"{LOT}nordic-nickel:NS-2026-310"]
    assert expired.endswith(
        "RMAP audit credential RMAP-2022-NNR-112 expired on 2025-06-30, before the lot's "
        "production on 2026-03-01 (EXPIRED)"
    )
    # Plain records are still accepted (UNVERIFIED): the other flags are the sample's
    # own (tests/e2e/test_trace_e2e.py): Huaxi's graphite plant and Circulo's lots.
    assert set(flags) == {
        f"{LOT}coastal-lithium:LH-2026-061",
        f"{LOT}sulawesi-hpal:MHP-2026-045",
        f"{LOT}nordic-nickel:NS-2026-310",
        f"{LOT}huaxi-graphite:SG-2026-077",
        f"{LOT}circulo-recycling:BM-2026-033",
        f"{LOT}circulo-recycling:CSR-2026-009",
        f"{LOT}circulo-recycling:NSR-2026-011",
    }


async def test_a_revocation_takes_effect_without_restarting_anything(running: Running) -> None:
    boreal = f"{LOT}boreal-cobalt:CS-2026-102"
    assert boreal not in await audit_flags(running.federation)
    # The auditor publishes its list with Boreal's bit set; nodes and gateway run on.
    running.status_file.write_text(
        sign_status_list(running.auditor, LIST_URL, {BOREAL_INDEX}, ttl_ms=TTL_MS)
    )
    await asyncio.sleep(TTL_MS / 1000 + 0.1)
    try:
        flags = await audit_flags(running.federation)
        assert flags[boreal] == (
            "Kokkola cobalt refinery: RMAP audit credential RMAP-2025-BCR-031 was revoked "
            "by its issuer (REVOKED)"
        )
    finally:
        running.status_file.write_text(
            sign_status_list(running.auditor, LIST_URL, set(), ttl_ms=TTL_MS)
        )


def oretrail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oretrail", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


async def test_the_cli_issues_revokes_and_verifies_against_the_running_auditor(
    running: Running, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    save_member_keys(running.federation.keys.member("assurance-partners"), keys)
    # The verifier's own pinned copy: every member's keys and live endpoints.
    pinned = tmp_path / "pinned.json"
    copy = running.federation.keys.pinned(running.roles, running.federation.node_urls)
    pinned.write_text(json.dumps(copy.to_json()), encoding="utf-8")
    url = "http://127.0.0.1:8116/credentials/status/2"
    status_list = running.status_file.parent / "2.jwt"
    auditor = ("--org", "assurance-partners", "--keys", str(keys))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return oretrail(*args)

    # The list is created by revoking an index no credential uses (0); ttl 0: no cache.
    revoke = ("credential", "revoke", *auditor, "--list", str(status_list), "--status-list", url)
    created = await asyncio.to_thread(run, *revoke, "--index", "0", "--ttl-ms", "0")
    assert created.returncode == 0, created.stderr
    assert "revoked index 0" in created.stdout
    issued = await asyncio.to_thread(
        run,
        "credential", "issue", *auditor,
        "--id", "RMAP-2026-BCR-040",
        "--facility", "urn:oretrail:facility:boreal-cobalt:kokkola-refinery",
        "--standard", "RMAP", "--scope", "cobalt refiner reassessment",
        "--valid-from", "2026-01-01", "--valid-until", "2026-12-31",
        "--status-list", url, "--index", "12",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    token = tmp_path / "audit.jwt"
    token.write_text(issued.stdout)
    verify = ("credential", "verify", str(token), "--pinned", str(pinned))
    valid = await asyncio.to_thread(run, *verify, "--on", "2026-06-01")
    assert valid.returncode == 0, valid.stderr + valid.stdout
    assert valid.stdout.startswith("VALID: signed by assurance-partners, valid on 2026-06-01")
    # 2027-01-01 is the day after validUntil 2026-12-31.
    late = await asyncio.to_thread(run, *verify, "--on", "2027-01-01")
    assert (late.returncode, late.stdout.split(":")[0]) == (1, "EXPIRED")
    again = await asyncio.to_thread(run, *revoke, "--index", "12", "--ttl-ms", "0")
    assert "(2 revoked in all)" in again.stdout
    revoked = await asyncio.to_thread(run, *verify, "--on", "2026-06-01")
    assert (revoked.returncode, revoked.stdout.split(":")[0]) == (1, "REVOKED")
    # A member that is not an auditor cannot issue.
    refiner = tmp_path / "refiner"
    save_member_keys(running.federation.keys.member("boreal-cobalt"), refiner)
    refused = await asyncio.to_thread(
        run,
        "credential", "issue", "--org", "boreal-cobalt", "--keys", str(refiner),
        "--id", "X", "--facility", "urn:oretrail:facility:boreal-cobalt:kokkola-refinery",
        "--standard", "RMAP", "--scope", "self", "--valid-from", "2026-01-01",
        "--valid-until", "2026-12-31", "--status-list", url, "--index", "1",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "boreal-cobalt is not a registered AUDITOR" in refused.stderr


async def test_a_trace_s_evidence_rechecks_its_credentials_without_asking_anyone(
    running: Running,
) -> None:
    """The bundle carries the auditor's signed status list: the verifier re-checks every
    credential against its own pinned keys, and a revoked one stays revoked."""
    running.status_file.write_text(
        sign_status_list(running.auditor, LIST_URL, {BOREAL_INDEX}, ttl_ms=TTL_MS)
    )
    await asyncio.sleep(TTL_MS / 1000 + 0.1)
    try:
        body = await graphql(
            running.federation.gateway_url,
            TRACE_EVIDENCE_QUERY,
            {"lot": PACK, "asOf": AS_OF},
            token=oem_token(running.federation),
        )
    finally:
        running.status_file.write_text(
            sign_status_list(running.auditor, LIST_URL, set(), ttl_ms=TTL_MS)
        )
    assert "errors" not in body, body
    bundle = body["data"]["trace"]["evidence"]
    assert list(bundle["inputs"]["statusLists"]) == ["/credentials/status/1"]
    pinned = running.federation.keys.pinned(running.roles)
    found = verify_evidence(bundle, pinned=pinned)
    assert found.problems == []
    assert found.report is not None
    flagged = {r.lot for r in found.report.risks if str(r.kind) == "UNAUDITED_PROCESSOR"}
    # Revoked (Boreal), forged (Coastal), unknown issuer (Sulawesi) and expired (Nordic
    # Nickel), as the gateway found them, plus the sample's own three.
    assert f"{LOT}boreal-cobalt:CS-2026-102" in flagged
    assert f"{LOT}coastal-lithium:LH-2026-061" in flagged
    assert f"{LOT}sulawesi-hpal:MHP-2026-045" in flagged
    assert f"{LOT}nordic-nickel:NS-2026-310" in flagged
    # With the list cleared again, Boreal's credential is valid; a verifier without the
    # list could not say so, so a bundle stripped of it no longer recomputes the same.
    await asyncio.sleep(TTL_MS / 1000 + 0.1)
    body = await graphql(
        running.federation.gateway_url,
        TRACE_EVIDENCE_QUERY,
        {"lot": PACK, "asOf": AS_OF},
        token=oem_token(running.federation),
    )
    valid = body["data"]["trace"]["evidence"]
    assert verify_evidence(valid, pinned=pinned).ok
    valid["inputs"]["statusLists"] = {}
    stripped = verify_evidence(valid, pinned=pinned)
    assert any("risks" in p and "boreal-cobalt" in p for p in stripped.problems)
