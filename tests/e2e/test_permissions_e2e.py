"""Who sees what, with real servers: tokens at the gateway, grants at the nodes, the logs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from oretrail.auth.chain import Caller, Delegation
from oretrail.auth.federation_keys import GATEWAY_KEY

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.tokens import (
    ACCESS_TYP,
    GATEWAY,
    GRANT_TYP,
    mint,
    node_audience,
    org_issuer,
    token_hash,
)
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.report import TRACE_QUERY
from tests.conftest import PACK, ROOT, graphql, oem_token, served_federation

pytestmark = pytest.mark.e2e

L = "urn:oretrail:lot:"
ALL = [
    "certificates",
    "contents",
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
DOWN = [g for g in ALL if g != "emissions"]
DOWN_HUAXI = [g for g in DOWN if g != "contents"]

OEM_VIEW = {
    f"{L}nordvolt:PACK-2026-0412": ALL,  # its own lot
    f"{L}aurora-cells:CELL-2026-1187": ALL,  # shipped to nordvolt: customer
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
    f"{L}helios-cathode:CAM-2026-0412": ALL,  # shipped to aurora-cells: customer
    f"{L}terra-anode:AN-2026-019": ALL,  # shipped to aurora-cells: customer
}


def given_by_lot(federation: Federation, caller_org: str) -> dict[str, list[str]]:
    """What every node's access log says it gave this caller's organisation, by lot."""
    seen: dict[str, list[str]] = {}
    for log in federation.node_logs.values():
        for entry in log.entries:
            if entry["org"] == caller_org and entry["query"] == "lots":
                for lot in entry["lots"]:
                    seen[lot["lot"]] = lot["given"]
    return seen


async def trace(federation: Federation, token: str, lot: str = PACK) -> dict[str, Any]:
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
        cells = federation.caller_token("aurora-cells", roles=["CELL"])
        answer = await trace(federation, cells, f"{L}aurora-cells:CELL-2026-1187")
        assert "errors" not in answer
        assert given_by_lot(federation, "aurora-cells") == CELL_MAKER_VIEW
        # Every node appears: each of the 16 organisations with lots answered.
        asked = {org for org, log in federation.node_logs.items() if log.entries}
        assert len(asked) == 16


async def test_a_competitor_is_refused_at_the_root_and_no_other_node_is_asked(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        rival = federation.caller_token("rivalauto", roles=["OEM"])
        body = await trace(federation, rival)
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
        assert "no valid chain reaches this lot" in body["errors"][0]["message"]
        asked = {org for org, log in federation.node_logs.items() if log.entries}
        assert asked == {"nordvolt"}
        [entry] = federation.node_logs["nordvolt"].entries
        assert entry["org"] == "rivalauto"
        assert entry["lots"][0]["status"] == "WITHHELD"


async def test_an_ngo_without_an_approved_query_is_refused_before_any_node(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        ngo = federation.caller_token("transparency-watch", roles=["NGO"])
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                federation.gateway_url,
                json={"query": TRACE_QUERY, "variables": {"lot": PACK}},
                headers={"Authorization": f"Bearer {ngo}"},
            ) as response,
        ):
            assert response.status == 403
            body = await response.json()
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
        assert "approved queries only" in body["errors"][0]["message"]
        assert not any(log.entries for log in federation.node_logs.values())


async def test_a_gateway_minted_token_alone_cannot_open_an_upstream_lot(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        # The gateway (or anyone holding its key) asks the refiner directly: with no grant,
        # then with a grant it signed itself.
        caller = Caller("analyst@nordvolt", "nordvolt", frozenset({"OEM"}), frozenset({"trace"}))
        gateway_key = federation.keys.key(GATEWAY_KEY)
        delegation = Delegation(gateway_key, caller, "rogue-txn", "trace")
        query = (
            "query($ids: [ID!]!, $grants: [GrantInput!]) { lots(ids: $ids, grants: $grants) "
            "{ answers { status detail lot { material } } } }"
        )
        parent = delegation.token_for("copperbelt-trading")
        forged = mint(
            gateway_key,
            GRANT_TYP,
            {
                "sub": caller.sub,
                "org": caller.org,
                "aud": node_audience("boreal-cobalt"),
                "inputs": {"CH-2026-014": ["CS-2026-102"]},
                "txn": "rogue-txn",
                "th": token_hash(parent),
            },
            lifetime=60,
        )
        answers = []
        for grants in ([], [{"grant": forged, "parentToken": parent}]):
            variables = {"ids": [f"{L}boreal-cobalt:CS-2026-102"], "grants": grants}
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    federation.node_urls["boreal-cobalt"],
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {delegation.token_for('boreal-cobalt')}"},
                ) as response,
            ):
                assert response.status == 200
                answers.append((await response.json())["data"]["lots"]["answers"][0])
        assert [(a["status"], a["lot"]) for a in answers] == [("WITHHELD", None)] * 2
        assert "no valid chain" in answers[0]["detail"]
        assert answers[1]["detail"] == (
            "no valid chain reaches this lot; a continuation grant in the request was "
            "refused: continuation grants are signed by nodes, not by the gateway"
        )
        entries = federation.node_logs["boreal-cobalt"].entries
        assert [e["txn"] for e in entries] == ["rogue-txn"] * 2
        assert [e["lots"][0]["status"] for e in entries] == ["WITHHELD"] * 2
        assert [e["lots"][0]["given"] for e in entries] == [[], []]


def forged_tokens(federation: Federation) -> dict[str, str | None]:
    outsider = generate_signing_key(org_issuer("nordvolt"), "outsider-1")
    valid = oem_token(federation)
    head, payload, _ = valid.split(".")
    return {
        "missing": None,
        "garbage": "not.a.token",
        "alg none": f"{head}.{payload}.",
        "unknown key": mint(
            outsider, ACCESS_TYP, {"sub": "x", "org": "nordvolt", "aud": GATEWAY}, lifetime=60
        ),
        "expired": federation.keys.caller_token("nordvolt", lifetime=-10),
        "node audience": mint(
            federation.keys.key("nordvolt"),
            ACCESS_TYP,
            {"sub": "x", "org": "nordvolt", "aud": "urn:oretrail:node:nordvolt"},
            lifetime=60,
        ),
    }


async def test_bad_caller_tokens_get_401_at_the_gateway_and_nodes_need_one(
    sample_config: FederationConfig,
) -> None:
    with served_federation(sample_config) as federation:
        for name, token in forged_tokens(federation).items():
            headers = {} if token is None else {"Authorization": f"Bearer {token}"}
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
    log = tmp_path / "kasulo-coop.log"
    audit = subprocess.run(
        [sys.executable, "-m", "oretrail", "node", "audit", str(log)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert audit.returncode == 0, audit.stderr
    assert "1 entries, chain verified" in audit.stdout
    assert "analyst@nordvolt (nordvolt)" in audit.stdout
    assert f"FOUND     {L}kasulo-coop:HG-2026-007" in audit.stdout
    entry = json.loads(log.read_text(encoding="utf-8"))
    entry["lots"][0]["given"] = []
    log.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    tampered = subprocess.run(
        [sys.executable, "-m", "oretrail", "node", "audit", str(log)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert tampered.returncode == 2
    assert "line 1 was edited" in tampered.stderr
