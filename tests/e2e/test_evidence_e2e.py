"""Evidence anyone can check (DESIGN.md, Trust 7), on real servers over real HTTP.

An honest trace's evidence bundle verifies with the caller's own registry copy and
recomputes to the same figures. A dishonest gateway is played by rewriting a real
bundle the way a gateway operator could: it holds every real signed node answer of
the trace, may drop, edit, add or reorder them, and recomputes its figures from
what it kept so that they agree with its story (:func:`recompute`, the verifier's
own code, run without signature checks). Each such bundle must fail to verify.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.tokens import node_issuer
from oretrail.auth.witness import Receipt, sign_answer
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import GatewayClient
from oretrail.gateway.evidence import trace_figures
from oretrail.report import TRACE_EVIDENCE_QUERY
from oretrail.verify import (
    Verification,
    compare_answer,
    recompute,
    risk_settings,
    roles_of,
    verify_evidence,
)
from tests.conftest import PACK, graphql, oem_token

pytestmark = pytest.mark.e2e

AS_OF = "2026-11-26"
LOT = "urn:oretrail:lot:"
KASULO = f"{LOT}kasulo-coop:HG-2026-007"
YILGARN = f"{LOT}yilgarn-lithium:SC6-2026-088"
ORIGINS = {
    f"{LOT}kambove-mining:MH-2026-031",
    KASULO,
    f"{LOT}sulawesi-hpal:LO-2026-220",
    YILGARN,
    f"{LOT}niassa-graphite:FG-2026-140",
    f"{LOT}circulo-recycling:BM-2026-033",
    f"{LOT}nordic-battery-collection:BM-2026-051",
}


def own_registry(federation: Federation, config: FederationConfig) -> PinnedRegistry:
    """The caller's own pinned copy of the members' public keys (not the gateway's)."""
    return federation.keys.pinned(config.registry.roles())


async def traced_bundle(federation: Federation) -> dict[str, Any]:
    body = await graphql(
        federation.gateway_url,
        TRACE_EVIDENCE_QUERY,
        {"lot": PACK, "asOf": AS_OF},
        token=oem_token(federation),
    )
    assert "errors" not in body, body
    bundle: dict[str, Any] = body["data"]["trace"]["evidence"]
    return bundle


@pytest.fixture(scope="module")
def honest(federation: Federation) -> dict[str, Any]:
    """One honest trace's bundle, shared by the module (the servers run in their own
    thread; this client runs its own short event loop)."""
    return asyncio.run(traced_bundle(federation))


def pinned_file(registry: PinnedRegistry, folder: Path) -> Path:
    """The caller's own pinned registry copy, as `oretrail keys export` writes it."""
    path = folder / "pinned.json"
    path.write_text(json.dumps(registry.to_json()), encoding="utf-8")
    return path


def oretrail_verify(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """`oretrail verify ...` as a user runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "oretrail", "verify", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def restated(bundle: dict[str, Any], registry: PinnedRegistry) -> dict[str, Any]:
    """The dishonest gateway's figures: recomputed from the answers it kept, so they
    agree with whatever it did to them."""
    report = recompute(
        bundle,
        bundle["answers"],
        roles=roles_of(registry),
        risk=risk_settings(bundle["inputs"]),
    )
    bundle["figures"] = trace_figures(report)
    return bundle


def answer_holding(bundle: dict[str, Any], lot: str) -> tuple[int, dict[str, Any]]:
    """The index of the lots answer that opened ``lot``, and the lot's record in it."""
    for number, answer in enumerate(bundle["answers"]):
        for item in answer["response"]["data"]["lots"]["answers"]:
            if item["id"] == lot and item.get("lot"):
                return number, item
    raise AssertionError(f"no answer opened {lot}")


def problems(bundle: dict[str, Any], registry: PinnedRegistry) -> list[str]:
    found = verify_evidence(bundle, pinned=registry)
    assert not found.ok
    return found.problems


async def test_an_honest_trace_verifies_and_recomputes_to_the_same_figures(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    found = verify_evidence(honest, pinned=registry)
    assert found.problems == []
    assert found.unvouched == []
    assert found.answers_checked == len(honest["answers"]) > 0
    assert found.report is not None
    recomputed = trace_figures(found.report)
    assert {o["lot"] for o in recomputed["origins"]} == ORIGINS
    # Coastal Lithium claims 10 t x 16.5 % = 1,650 kg Li; its inputs supply 40.5 t x
    # 2.79 % = 1,129.95 kg: the Li coverage, recomputed from the signed answers alone.
    assert recomputed["coverage"]["Li"] == pytest.approx(1129.95 / 1650)
    assert ("CAHRA_ORIGIN", KASULO) in {(r["kind"], r["lot"]) for r in recomputed["risks"]}
    # Every answer in the bundle is signed for this very request.
    assert all("evidence" in a["response"]["extensions"] for a in honest["answers"])


def test_a_dropped_branch_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    del bundle["answers"][number]
    found = problems(restated(bundle, registry), registry)
    assert any(KASULO in p and "a branch was dropped" in p for p in found), found


def test_a_dropped_branch_passed_off_as_not_found_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    del bundle["answers"][number]
    bundle["gaps"].append(
        {"lot": KASULO, "owner": "kasulo-coop", "reason": "NOT_FOUND", "detail": "unknown"}
    )
    found = problems(restated(bundle, registry), registry)
    assert any(KASULO in p and "no signed answer" in p for p in found), found


def test_a_changed_quantity_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    number, item = answer_holding(bundle, YILGARN)
    item["lot"]["contents"] = [
        {**c, "fraction": 0.05} if c["element"] == "Li" else c for c in item["lot"]["contents"]
    ]
    found = problems(restated(bundle, registry), registry)
    assert any(f"answer {number}" in p and "digest" in p for p in found), found


def test_an_invented_origin_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    # The gateway claims an origin no node answered: the figures no longer recompute.
    invented = copy.deepcopy(bundle["figures"]["origins"][0])
    invented["lot"] = f"{LOT}kambove-mining:INVENTED-1"
    bundle["figures"]["origins"].append(invented)
    found = problems(bundle, registry)
    assert any("origins" in p and "INVENTED-1" in p for p in found), found


def test_an_answer_signed_with_a_key_the_caller_does_not_pin_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    number, item = answer_holding(bundle, KASULO)
    # The operator re-signs an edited answer with a key of its own, named as the node's.
    item["lot"]["facility"]["country"] = "FI"
    forger = generate_signing_key(node_issuer("kasulo-coop"), "forged-1")
    response = bundle["answers"][number]["response"]
    receipt = response["extensions"]["evidence"]["receipt"]
    fake = Receipt(
        receipt["index"],
        bytes.fromhex(receipt["leaf"]),
        receipt["checkpoint"],
        receipt["index"] + 1,
        b"\0" * 32,
        (),
    )
    response["extensions"]["evidence"]["answer"] = sign_answer(forger, None, "0" * 64, fake)
    found = problems(restated(bundle, registry), registry)
    assert any(f"answer {number}" in p for p in found), found


def test_a_removed_risk_flag_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    bundle["figures"]["risks"] = [
        r for r in bundle["figures"]["risks"] if r["kind"] != "CAHRA_ORIGIN"
    ]
    found = problems(bundle, registry)
    assert any("risks" in p and "CAHRA_ORIGIN" in p for p in found), found


async def test_an_answer_from_another_request_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    other = await traced_bundle(federation)
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    replayed, _ = answer_holding(other, KASULO)
    bundle["answers"][number] = other["answers"][replayed]
    found = problems(bundle, registry)
    assert any(f"answer {number}" in p and "another request" in p for p in found), found


def test_swapped_receipts_are_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    first, second = bundle["answers"][0], bundle["answers"][1]
    first["response"]["extensions"], second["response"]["extensions"] = (
        second["response"]["extensions"],
        first["response"]["extensions"],
    )
    assert len(problems(bundle, registry)) >= 2


def test_oretrail_verify_checks_a_bundle_file(
    federation: Federation,
    sample_config: FederationConfig,
    honest: dict[str, Any],
    tmp_path: Path,
) -> None:
    pinned = pinned_file(own_registry(federation, sample_config), tmp_path)
    good = tmp_path / "evidence.json"
    good.write_text(json.dumps(honest), encoding="utf-8")
    bad = tmp_path / "tampered.json"
    tampered = copy.deepcopy(honest)
    tampered["figures"]["coverage"]["Li"] = 1.0
    bad.write_text(json.dumps(tampered), encoding="utf-8")

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return oretrail_verify(path, "--pinned", pinned)

    ok = run(good)
    assert ok.returncode == 0, ok.stderr
    assert "evidence verifies" in ok.stdout
    failed = run(bad)
    assert failed.returncode == 1
    assert "coverage" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_bundle_restated_for_a_shallower_trace_is_caught(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    # Claiming the caller asked for 2 hops hides everything past them as DEPTH_LIMIT.
    bundle = copy.deepcopy(honest)
    bundle["maxDepth"] = 2
    found = problems(restated(bundle, registry), registry)
    assert any("not what its signed request asks" in p for p in found), found


async def test_the_client_checks_a_trace_s_evidence_against_the_request_it_signed(
    federation: Federation, sample_config: FederationConfig
) -> None:
    registry = own_registry(federation, sample_config)
    async with GatewayClient(
        federation.gateway_url, oem_token(federation), pinned=registry
    ) as gateway:
        traced = await gateway.trace(PACK, as_of=date.fromisoformat(AS_OF), evidence=True)
    assert traced.verification is not None
    assert traced.verification.problems == []
    assert traced.verification.notes == [
        "risk settings and the CAHRA list were taken from the bundle"
    ]
    assert {o.lot for o in traced.origins} == ORIGINS
    assert traced.raw["evidence"]["figures"]["coverage"]["Li"] == pytest.approx(1129.95 / 1650)


def test_a_branch_dropped_as_unreachable_is_named_and_counted_unknown(
    federation: Federation, sample_config: FederationConfig, honest: dict[str, Any]
) -> None:
    registry = own_registry(federation, sample_config)
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    del bundle["answers"][number]
    bundle["gaps"].append(
        {"lot": KASULO, "owner": "kasulo-coop", "reason": "UNREACHABLE", "detail": "down"}
    )
    found = verify_evidence(restated(bundle, registry), pinned=registry)
    # No node can sign that it was unreachable: the verifier cannot refute the gateway,
    # so it says whose word the gap rests on, and the figures count it as unknown.
    assert found.problems == []
    assert [u.split(":")[0] for u in found.unvouched] == ["urn"]
    assert KASULO in found.unvouched[0]
    assert "UNREACHABLE" in found.unvouched[0]
    assert found.report is not None
    # With Kasulo's lot unopened its Co content is unknown, so the trader's blend is
    # split by mass: Kasulo's 4 t of the 7 + 4 = 11 t, of the pack's 2.4/2.9 primary Co.
    assert found.report.attribution.coverage["Co"] == pytest.approx(1 - 2.4 / 2.9 * 4 / 11)


async def test_a_trace_answer_that_differs_from_its_evidence_is_caught(
    federation: Federation, sample_config: FederationConfig
) -> None:
    registry = own_registry(federation, sample_config)
    async with GatewayClient(
        federation.gateway_url, oem_token(federation), pinned=registry
    ) as gateway:
        traced = await gateway.trace(PACK, as_of=date.fromisoformat(AS_OF), evidence=True)
    assert traced.verification is not None
    assert traced.verification.ok
    # A gateway that sends an honest bundle beside the answer it wants the caller to see.
    shown = copy.deepcopy(dict(traced.raw))
    shown["risks"] = [r for r in shown["risks"] if r["kind"] != "CAHRA_ORIGIN"]
    shown["coverage"] = [{**c, "coverage": 1.0} for c in shown["coverage"]]
    found = Verification(report=traced.verification.report)
    compare_answer(shown, found)
    assert len(found.problems) == 2
    assert "coverage" in found.problems[0]
    assert "risks" in found.problems[1]
    assert "CAHRA_ORIGIN" in found.problems[1]


def test_oretrail_verify_checks_the_bundle_answers_the_request_given(
    federation: Federation,
    sample_config: FederationConfig,
    honest: dict[str, Any],
    tmp_path: Path,
) -> None:
    pinned = pinned_file(own_registry(federation, sample_config), tmp_path)
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps(honest), encoding="utf-8")
    mine = tmp_path / "mine.txt"
    mine.write_text(f"Authorization: Bearer {honest['request']}\n", encoding="utf-8")
    # Another caller's request for the same lot: a bundle answering it is not mine.
    other = asyncio.run(traced_bundle(federation))["request"]
    theirs = tmp_path / "theirs.txt"
    theirs.write_text(other, encoding="utf-8")

    def run(request: Path) -> subprocess.CompletedProcess[str]:
        return oretrail_verify(evidence, "--pinned", pinned, "--request", request)

    assert run(mine).returncode == 0
    refused = run(theirs)
    assert refused.returncode == 1
    assert "another request than the one you signed" in refused.stderr
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a token", encoding="utf-8")
    broken = run(garbage)
    assert broken.returncode == 2
    assert broken.stderr.count("\n") == 1
    assert "not a signed request" in broken.stderr
