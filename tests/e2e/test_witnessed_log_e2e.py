"""Every request for data a node answers or refuses is one leaf of its witnessed log, and
every answer carries a receipt and the node's signed answer that verify (Trust 6 and 7)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oretrail.auth.access_log import (
    AccessLog,
    LogTampered,
    checkpoints_path,
    hashes_path,
    read_entries,
)
from oretrail.auth.checkpoint import log_origin, verify_checkpoint
from oretrail.auth.log_audit import audit_log
from oretrail.auth.merkle import verify_consistency
from oretrail.auth.requests import RequestContext, sign_request
from oretrail.auth.witness import evidence_matches, verify_answer, verify_receipt
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.report import TRACE_EVIDENCE_QUERY, TRACE_QUERY
from tests.conftest import graphql, oem_token, served_federation
from tests.support.trust import ask_node

pytestmark = pytest.mark.e2e

L = "urn:oretrail:lot:"
PACK = f"{L}nordvolt:PACK-2026-0412"
FACILITY = "urn:oretrail:facility:nordvolt:"  # prefix of the OEM's facilities


def context(op: str, roots: tuple[str, ...]) -> RequestContext:
    return RequestContext(op=op, roots=roots, depth=20, doc="d", vars="v")


def check_evidence(
    federation: Federation, org: str, body: dict[str, Any], evidence: Any, request: str | None
) -> int:
    """Verify a response's evidence as any caller can; the leaf index it names."""
    public = federation.keys.member(org).node_key.private.public_key()
    answer = verify_answer(evidence["answer"], public)
    receipt = verify_receipt(evidence["receipt"], public, log_origin(org))
    evidence_matches(answer, receipt, body)
    expected = None if request is None else hashlib.sha256(request.encode()).hexdigest()
    assert answer.req == expected
    return receipt.index


async def leaves(federation: Federation, org: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(federation.node_urls[org].replace("/graphql", "/log/checkpoint")) as response,
    ):
        assert response.status == 200
        note = await response.text()
    public = federation.keys.member(org).node_key.private.public_key()
    return verify_checkpoint(note, public, log_origin(org)).size


LOTS = "query($ids: [ID!]!) { lots(ids: $ids) { answers { id status } } }"
OUTPUTS = "query($ids: [ID!]!) { outputs(ids: $ids) { id } }"
QUERIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # case: (operation of the request, document, variables); the case's first word is the
    # field the entry names.
    "lots": ("trace", LOTS, {}),
    "lots refused (an exposure request)": ("exposure", LOTS, {}),
    "outputs": ("exposure", OUTPUTS, {}),
    "outputs refused (a trace request)": ("trace", OUTPUTS, {}),
    "organisation": ("trace", "{ organisation { id name } }", {}),
    "lotsAt refused (not a root)": (
        "exposure",
        "query($f: ID!) { lotsAt(facility: $f) }",
        {"f": "urn:oretrail:facility:nordvolt:NOPE"},
    ),
}


@pytest.mark.parametrize("kind", sorted(QUERIES))
async def test_each_answered_request_kind_writes_exactly_one_entry_with_evidence(
    federation: Federation, kind: str
) -> None:
    oem = federation.user("nordvolt")
    op, query, variables = QUERIES[kind]
    request = sign_request(oem, context(op, (PACK,)))
    before = await leaves(federation, "nordvolt")
    status, body = await ask_node(
        federation, "nordvolt", request, oem.certificate, {"ids": [PACK], **variables}, query=query
    )
    assert status == 200, body
    after = await leaves(federation, "nordvolt")
    assert after == before + 1
    index = check_evidence(federation, "nordvolt", body, body["extensions"]["evidence"], request)
    assert index == before
    [entry] = federation.node_logs["nordvolt"].records()[before:]
    assert entry["query"] == kind.split(maxsplit=1)[0]
    assert entry["org"] == "nordvolt"


async def test_a_refusal_at_the_http_edge_writes_one_entry_with_evidence(
    federation: Federation,
) -> None:
    """An unverified caller's 401 and a body guard's 4xx each carry evidence at the top."""
    before = await leaves(federation, "kasulo-coop")
    status, body = await ask_node(federation, "kasulo-coop", "not-a-token", "x", {"ids": []})
    assert status == 401
    check_evidence(federation, "kasulo-coop", body, body["evidence"], None)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            federation.node_urls["kasulo-coop"],
            data=b"\xff not json",
            headers={"content-type": "application/json"},
        ) as response,
    ):
        assert 400 <= response.status < 500
        refused = await response.json()
    check_evidence(federation, "kasulo-coop", refused, refused["evidence"], None)
    assert await leaves(federation, "kasulo-coop") == before + 2
    entries = federation.node_logs["kasulo-coop"].records()[before:]
    assert [e["query"] for e in entries] == ["refused", "refused"]
    assert all(e["caller"] is None and e["req"] is None for e in entries)


async def test_a_gateway_that_changes_an_answer_is_caught_by_its_digest(
    federation: Federation,
) -> None:
    oem = federation.user("nordvolt")
    request = sign_request(oem, context("trace", (PACK,)))
    query = QUERIES["lots"][1]
    _, body = await ask_node(
        federation, "nordvolt", request, oem.certificate, {"ids": [PACK]}, query=query
    )
    body["data"]["lots"]["answers"][0]["status"] = "NOT_FOUND"
    with pytest.raises(Exception, match="digest differs"):
        check_evidence(federation, "nordvolt", body, body["extensions"]["evidence"], request)


async def test_checkpoints_and_consistency_proofs_are_served(federation: Federation) -> None:
    """Two checkpoints a witness saw are proved consistent by the node's own proof."""
    org = "nordvolt"
    base = federation.node_urls[org].replace("/graphql", "")
    public = federation.keys.member(org).node_key.private.public_key()
    oem = federation.user("nordvolt")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/log/checkpoint") as response:
            old = verify_checkpoint(await response.text(), public, log_origin(org))
        for _ in range(3):
            request = sign_request(oem, context("trace", (PACK,)))
            await ask_node(federation, org, request, oem.certificate, {"ids": [PACK]})
        async with session.get(f"{base}/log/checkpoint") as response:
            new = verify_checkpoint(await response.text(), public, log_origin(org))
        assert new.size == old.size + 3
        async with session.get(
            f"{base}/log/consistency", params={"from": old.size, "to": new.size}
        ) as response:
            proof = [base64.b64decode(h) for h in await response.json()]
        verify_consistency(old.size, new.size, old.root, new.root, proof)
        async with session.get(
            f"{base}/log/consistency", params={"from": 5, "to": new.size + 10}
        ) as response:
            assert response.status == 400
        # The shipments log is served alike, under its own origin.
        async with session.get(f"{base}/log/shipments/checkpoint") as response:
            note = await response.text()
        verify_checkpoint(note, public, log_origin(org, "shipments"))


def test_shipment_records_that_authorised_grants_are_witnessed(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    """A trace's grants rest on shipment records: those are in the shipments log, the
    access entries pin its root, and a rewrite of the records is caught by the audit."""
    with served_federation(sample_config, log_dir=tmp_path) as federation:
        body = asyncio.run(
            graphql(federation.gateway_url, TRACE_QUERY, {"lot": PACK}, token=oem_token(federation))
        )
        assert "errors" not in body
        key = federation.keys.member("kasulo-coop").node_key
    public = key.private.public_key()
    access = tmp_path / "kasulo-coop.log"
    shipments = tmp_path / "kasulo-coop.shipments.log"
    [entry] = read_entries(access)
    records = [e["shipment"] for e in read_entries(shipments)]
    # The cooperative's concentrate went to the trader: the record the trader's grant
    # was checked against, logged before the answer left, and pinned by the entry.
    assert {(r["lot"], r["to"]) for r in records} == {
        (f"{L}kasulo-coop:HG-2026-007", "copperbelt-trading")
    }
    assert entry["shipments"]["size"] == len(records)
    audit_log(access, [public])
    # The operator rewrites the record (a larger quantity) and re-signs the shipments log.
    for file in (shipments, hashes_path(shipments), checkpoints_path(shipments)):
        file.unlink()
    forged = AccessLog(shipments, key, log_origin("kasulo-coop", "shipments"))
    changed = {**records[0], "quantity": {"value": 999999.0, "unit": "kg"}}
    asyncio.run(forged.append({"shipment": changed}))
    forged.close()
    audit_log(shipments, [public])  # alone, the rewritten shipments log passes
    with pytest.raises(LogTampered, match="the shipment records were changed"):
        audit_log(access, [public])
    for file in (shipments, hashes_path(shipments), checkpoints_path(shipments)):
        file.unlink()
    with pytest.raises(LogTampered, match=r"missing, but entries of kasulo-coop\.log rest on"):
        audit_log(access, [public])


def test_a_buyers_evidence_bundle_catches_a_node_that_rewrites_its_log(
    sample_config: FederationConfig, tmp_path: Path
) -> None:
    """The receipts in a real trace's evidence bundle, kept by the buyer, are what `node
    audit` checks a node's log against: after the node re-chains its log without the
    entry that served the buyer, the same audit fails."""
    with served_federation(sample_config, log_dir=tmp_path) as federation:
        body = asyncio.run(
            graphql(
                federation.gateway_url,
                TRACE_EVIDENCE_QUERY,
                {"lot": PACK, "asOf": "2026-11-26"},
                token=oem_token(federation),
            )
        )
        assert "errors" not in body, body
        key = federation.keys.member("kasulo-coop").node_key
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(body["data"]["trace"]["evidence"]), encoding="utf-8")
    access = tmp_path / "kasulo-coop.log"
    report = audit_log(access, [key.private.public_key()], [bundle])
    assert (report.entries, report.receipts) == (1, 1)  # the one hop to the cooperative
    # The operator replaces the entry that served the buyer and re-signs everything.
    [entry] = read_entries(access)
    for file in (access, hashes_path(access), checkpoints_path(access)):
        file.unlink()
    rewritten = AccessLog(access, key, log_origin("kasulo-coop"))
    asyncio.run(rewritten.append({**entry, "lots": []}))
    rewritten.close()
    audit_log(access, [key.private.public_key()])  # alone, it passes
    with pytest.raises(LogTampered, match="two different checkpoints of size 1"):
        audit_log(access, [key.private.public_key()], [bundle])
