"""Who sees what, with real servers: signed requests at the gateway, grants at the nodes,
the logs. The attacks on the trust chain are in test_trust_attacks_e2e.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.requests import REQUEST_TYP, RequestContext, sign_request
from oretrail.auth.tokens import FEDERATION, mint
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import signed_headers
from oretrail.report import TRACE_QUERY
from tests.conftest import PACK, ROOT, graphql, oem_token, served_federation

pytestmark = pytest.mark.e2e

L = "urn:oretrail:lot:"
ALL = [
    "certificates",
    "contents",
    "customers",
    "emissions",
    "facility",
    "identity",
    "inputs",
    "origin",
    "quantities",
    "suppliers",
]
# The sample policies: downstream callers get everything but emissions; Huaxi also
# keeps its contents; customers get everything; each organisation sees all of its own.
DOWN = [g for g in ALL if g not in ("emissions", "customers")]
# Customers see everything but whom the lot was sold on to.
CUSTOMER = [g for g in ALL if g != "customers"]
DOWN_HUAXI = [g for g in DOWN if g != "contents"]

OEM_VIEW = {
    f"{L}nordvolt:PACK-2026-0412": ALL,  # its own lot
    f"{L}aurora-cells:CELL-2026-1187": CUSTOMER,  # shipped to nordvolt
    f"{L}helios-cathode:CAM-2026-0412": DOWN,
    f"{L}terra-anode:AN-2026-019": DOWN,
    f"{L}boreal-cobalt:CS-2026-102": DOWN,
    f"{L}circulo-recycling:CSR-2026-009": DOWN,
    f"{L}circulo-recycling:NSR-2026-011": DOWN,
    f"{L}circulo-recycling:BM-2026-033": DOWN,
    f"{L}nordic-battery-collection:BM-2026-051": DOWN,
    f"{L}nordic-nickel:NS-2026-310": DOWN,
    f"{L}coastal-lithium:LH-2026-061": DOWN,
    f"{L}copperbelt-trading:CH-2026-014": DOWN,
    f"{L}kambove-mining:MH-2026-031": DOWN,
    f"{L}kasulo-coop:HG-2026-007": DOWN,
    f"{L}sulawesi-hpal:MHP-2026-045": DOWN,
    f"{L}sulawesi-hpal:LO-2026-220": DOWN,
    f"{L}yilgarn-lithium:SC6-2026-088": DOWN,
    f"{L}huaxi-graphite:SG-2026-077": DOWN_HUAXI,
    f"{L}niassa-graphite:FG-2026-140": DOWN,
}
CELL_MAKER_VIEW = {
    **{lot: groups for lot, groups in OEM_VIEW.items() if "nordvolt" not in lot},
    f"{L}aurora-cells:CELL-2026-1187": ALL,  # its own lot
    f"{L}helios-cathode:CAM-2026-0412": CUSTOMER,  # shipped to aurora-cells
    f"{L}terra-anode:AN-2026-019": CUSTOMER,  # shipped to aurora-cells
}


def given_by_lot(federation: Federation, caller_org: str) -> dict[str, list[str]]:
    """What every node's access log says it gave this caller's organisation, by lot."""
    seen: dict[str, list[str]] = {}
    for log in federation.node_logs.values():
        for entry in log.records():
            if entry["org"] == caller_org and entry["query"] == "lots":
                for lot in entry["lots"]:
                    seen[lot["lot"]] = lot["given"]
    return seen


async def trace(federation: Federation, token: UserIdentity, lot: str = PACK) -> dict[str, Any]:
    body: dict[str, Any] = await graphql(
        federation.gateway_url, TRACE_QUERY, {"lot": lot}, token=token
    )
    return body


async def test_every_node_gives_each_caller_what_its_policy_says(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        oem = await trace(federation, oem_token(federation))
        assert "errors" not in oem
        assert given_by_lot(federation, "nordvolt") == OEM_VIEW
        cells = federation.user("aurora-cells")
        answer = await trace(federation, cells, f"{L}aurora-cells:CELL-2026-1187")
        assert "errors" not in answer
        assert given_by_lot(federation, "aurora-cells") == CELL_MAKER_VIEW
        # Every node appears: each of the 16 organisations with lots answered.
        asked = {org for org, log in federation.node_logs.items() if log.records()}
        assert len(asked) == 16


async def test_a_competitor_is_refused_at_the_root_and_no_other_node_is_asked(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        rival = federation.user("rivalauto")
        body = await trace(federation, rival)
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
        assert "nothing in this request opens this lot" in body["errors"][0]["message"]
        asked = {org for org, log in federation.node_logs.items() if log.records()}
        assert asked == {"nordvolt"}
        [entry] = federation.node_logs["nordvolt"].records()
        assert entry["org"] == "rivalauto"
        assert entry["lots"][0]["status"] == "WITHHELD"


async def test_an_ngo_without_an_approved_query_is_refused_before_any_node(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        ngo = federation.user("transparency-watch")
        payload = {"query": TRACE_QUERY, "variables": {"lot": PACK}}
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                federation.gateway_url, json=payload, headers=signed_headers(ngo, payload)
            ) as response,
        ):
            assert response.status == 403
            body = await response.json()
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
        assert "approved queries only" in body["errors"][0]["message"]
        assert not any(log.records() for log in federation.node_logs.values())


def forged_requests(federation: Federation) -> dict[str, dict[str, str]]:
    """Headers of requests the gateway must refuse with 401."""
    payload = {"query": "{ participants { id } }"}
    ann = federation.user("nordvolt")
    valid = signed_headers(ann, payload)
    head, body, _ = valid["Authorization"].removeprefix("Bearer ").split(".")
    outsider = FederationKeys.generate(["nordvolt"]).user("nordvolt")
    bob = federation.keys.user("nordvolt", "bob@nordvolt")
    old = sign_request(ann, RequestContext(op="model"), lifetime=300, now=time.time() - 600)
    org_signed = mint(
        federation.keys.member("nordvolt").org_key,
        REQUEST_TYP,
        {"sub": ann.sub, "aud": FEDERATION, "txn": "t", "ctx": RequestContext("model").to_claims()},
        lifetime=60,
    )
    cert = {"oretrail-user-certificate": ann.certificate}
    return {
        "missing": {},
        "no certificate": {"Authorization": valid["Authorization"]},
        "garbage": {"Authorization": "Bearer not.a.token", **cert},
        "alg none": {"Authorization": f"Bearer {head}.{body}.", **cert},
        "another federation's user": signed_headers(outsider, payload),
        "another user's certificate": {
            "Authorization": valid["Authorization"],
            "oretrail-user-certificate": bob.certificate,
        },
        "expired request": {"Authorization": f"Bearer {old}", **cert},
        "signed by the organisation key": {"Authorization": f"Bearer {org_signed}", **cert},
    }


async def test_bad_caller_tokens_get_401_at_the_gateway_and_nodes_need_one(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        for name, headers in forged_requests(federation).items():
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    federation.gateway_url,
                    json={"query": "{ participants { id } }"},
                    headers=headers,
                ) as response,
            ):
                assert response.status == 401, name
                body = await response.json()
                assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}, name
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                federation.node_urls["kasulo-coop"],
                json={"query": "{ organisation { id } }"},
            ) as response,
        ):
            assert response.status == 401
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                federation.node_urls["kasulo-coop"].replace("/graphql", "/.well-known/jwks.json")
            ) as response,
        ):
            assert response.status == 200
            assert (await response.json())["keys"][0]["crv"] == "Ed25519"


def test_node_audit_verifies_a_real_log_and_catches_an_edit(
    sample_config: FederationConfig,
    tmp_path: Path,
) -> None:
    with served_federation(sample_config, log_dir=tmp_path) as federation:
        assert "errors" not in asyncio.run(trace(federation, oem_token(federation)))
        node_key = federation.keys.member("kasulo-coop").node_key
    key = tmp_path / "kasulo-node.jwks.json"
    key.write_text(json.dumps({"keys": [node_key.trusted().jwk()]}), encoding="utf-8")
    log = tmp_path / "kasulo-coop.log"
    command = [sys.executable, "-m", "oretrail", "node", "audit", str(log), "--key", str(key)]
    audit = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert audit.returncode == 0, audit.stderr
    # One request (the trace's hop); the fresh log's empty checkpoint, then one commit.
    assert "1 entries, 2 checkpoints verified" in audit.stdout
    assert "analyst@nordvolt (nordvolt)" in audit.stdout
    assert f"FOUND     {L}kasulo-coop:HG-2026-007" in audit.stdout
    entry = json.loads(log.read_text(encoding="utf-8"))
    entry["lots"][0]["given"] = []
    log.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    tampered = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert tampered.returncode == 2
    assert "does not match entry 0" in tampered.stderr
    assert len(tampered.stderr.strip().splitlines()) == 1
