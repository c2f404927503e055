"""The trust contract attacked on real servers (DESIGN.md, Trust 1-4).

A hostile gateway operator holds the gateway key and routes every request; a
dishonest member holds its own genuine keys and runs its own node. Neither, nor
both, can make a node reveal what its own records and a caller's own signature
do not justify.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from oretrail.auth.callers import USER_CERT_TYP, UserIdentity
from oretrail.auth.declarations import HEADER_APPROVED_QUERY
from oretrail.auth.grants import GRANT_TYP
from oretrail.auth.keys import SigningKey, generate_signing_key, thumbprint
from oretrail.auth.pinned import STATEMENT_TYP
from oretrail.auth.principal import HEADER_ROOTS
from oretrail.auth.requests import REQUEST_TYP, RequestContext, sign_request
from oretrail.auth.roots import sign_root_list
from oretrail.auth.tokens import FEDERATION, GATEWAY, mint, node_audience, org_issuer
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import signed_headers
from oretrail.domain.transparency import last_closed_period
from oretrail.gateway.approved import load_approved
from oretrail.report import TRACE_QUERY
from tests.conftest import CONFIG_DIR, PACK, graphql, served_federation
from tests.support.trust import ask_node, edited_sample, statuses

pytestmark = pytest.mark.e2e

L = "urn:oretrail:lot:"
ORE = f"{L}kambove-mining:MH-2026-031"
HYDROXIDE = f"{L}copperbelt-trading:CH-2026-014"
CONCENTRATE = f"{L}kasulo-coop:HG-2026-007"
SULFATE = f"{L}boreal-cobalt:CS-2026-102"
CATHODE = f"{L}helios-cathode:CAM-2026-0412"
CELL = f"{L}aurora-cells:CELL-2026-1187"
# One lot of every node of the sample, and who owns it.
EVERY_NODE_LOT = {
    "nordvolt": PACK,
    "aurora-cells": CELL,
    "helios-cathode": CATHODE,
    "boreal-cobalt": SULFATE,
    "copperbelt-trading": HYDROXIDE,
    "kambove-mining": ORE,
    "kasulo-coop": CONCENTRATE,
    "circulo-recycling": f"{L}circulo-recycling:BM-2026-033",
}


def context(op: str = "trace", roots: tuple[str, ...] = (PACK,), **extra: Any) -> RequestContext:
    return RequestContext(op=op, roots=roots, depth=20, doc="d", vars="v", **extra)


@pytest.fixture(scope="module")
def federation(sample_config: FederationConfig) -> Any:
    with served_federation(sample_config) as running:
        yield running


# -- The gateway's key alone -------------------------------------------------------------


def gateway_forgeries(federation: Federation, lot: str, owner: str) -> dict[str, tuple[str, str]]:
    """(request, certificate) pairs the gateway's key alone can make, claiming whatever."""
    key = federation.keys.gateway
    as_org = SigningKey(org_issuer(owner), key.kid, key.private)
    user = SigningKey(org_issuer(owner), thumbprint(key.private.public_key()), key.private)
    certificate = mint(
        key,
        USER_CERT_TYP,
        {"sub": "ann", "aud": FEDERATION, "cnf": {"jwk": user.trusted().jwk()}},
        lifetime=600,
    )
    forged_cert_as_org = mint(
        as_org,
        USER_CERT_TYP,
        {"sub": "ann", "aud": FEDERATION, "cnf": {"jwk": user.trusted().jwk()}},
        lifetime=600,
    )
    forgeries = {}
    claims_sets: dict[str, dict[str, Any]] = {
        "owner": {"org": owner},
        "customer": {"org": "nordvolt"},
        "auditor": {"org": "assurance-partners", "roles": ["AUDITOR"]},
        "transparency": {"purpose": "transparency:artisanal-share", "approved_by": [owner]},
        "all roles": {"roles": ["OEM", "AUDITOR", "NGO", "MINE"]},
    }
    for (name, claims), op in itertools.product(claims_sets.items(), ("trace", "transparency")):
        body = {
            "sub": "ann",
            "aud": FEDERATION,
            "txn": "t",
            "ctx": context(op, (lot,), line="nordvolt-packs-2026").to_claims(),
            **claims,
        }
        request = mint(key, REQUEST_TYP, body, lifetime=60)
        forgeries[f"{name}/{op}/gateway-cert"] = (request, certificate)
        forgeries[f"{name}/{op}/cert-as-org"] = (
            mint(user, REQUEST_TYP, body, lifetime=60),
            forged_cert_as_org,
        )
    return forgeries


async def test_the_gateway_key_alone_opens_no_lot_at_any_node(federation: Federation) -> None:
    """Everything the gateway's key can sign, with every claim, is refused and logged."""
    for owner, lot in EVERY_NODE_LOT.items():
        log = federation.node_logs[owner]
        before = len(log.records())
        forgeries = gateway_forgeries(federation, lot, owner)
        for name, (request, certificate) in forgeries.items():
            status, body = await ask_node(
                federation, owner, request, certificate, {"ids": [lot], "grants": []}
            )
            assert status == 401, (owner, name, body)
            assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
        # No request at all, only the gateway's own token.
        status, _ = await ask_node(federation, owner, None, None, {"ids": [lot]})
        assert status == 401
        refused = log.records()[before:]
        assert len(refused) == len(forgeries) + 1
        assert {e["query"] for e in refused} == {"refused"}
        assert all(e["lots"] == [] for e in refused)


async def test_grants_signed_by_the_gateway_key_open_nothing(federation: Federation) -> None:
    """With a real caller's request (the gateway routes them), forged grants still fail."""
    cathode_maker = federation.user("helios-cathode")
    request = sign_request(cathode_maker, context(roots=(CATHODE,)))
    claims = {
        "sub": cathode_maker.sub,
        "aud": node_audience("kambove-mining"),
        "req": "x",
        "links": [
            {
                "via": "CAM-2026-0412",
                "made": "2026-04-01",
                "hop": 1,
                "prev": None,
                "in": [["MH-2026-031", 1.0]],
            }
        ],
    }
    forged = mint(federation.keys.gateway, GRANT_TYP, claims, lifetime=60)
    status, body = await ask_node(
        federation,
        "kambove-mining",
        request,
        cathode_maker.certificate,
        {"ids": [ORE], "grants": [forged]},
    )
    assert status == 200
    assert statuses(body) == [(ORE, "WITHHELD")]
    assert body["data"]["lots"]["answers"][0]["lot"] is None


# -- A real caller's request in a hostile gateway's hands --------------------------------


async def test_a_signed_request_opens_only_its_root_and_chain(federation: Federation) -> None:
    """helios signs a trace of its cathode lot. The gateway cannot use that to open the
    sulfate boreal shipped to helios (a customer relation, but not a root), nor any other
    lot, without a grant from the chain."""
    helios = federation.user("helios-cathode")
    request = sign_request(helios, context(roots=(CATHODE,)))
    status, body = await ask_node(
        federation, "helios-cathode", request, helios.certificate, {"ids": [CATHODE]}
    )
    assert statuses(body) == [(CATHODE, "FOUND")]
    for org, lot in [("boreal-cobalt", SULFATE), ("kambove-mining", ORE)]:
        status, body = await ask_node(federation, org, request, helios.certificate, {"ids": [lot]})
        assert status == 200
        assert statuses(body) == [(lot, "WITHHELD")]
    # The answer for a lot that does not exist is the same, word for word.
    missing = f"{L}boreal-cobalt:NO-SUCH-LOT"
    _, real = await ask_node(
        federation, "boreal-cobalt", request, helios.certificate, {"ids": [SULFATE]}
    )
    _, none = await ask_node(
        federation, "boreal-cobalt", request, helios.certificate, {"ids": [missing]}
    )

    def strip(body: Any) -> list[tuple[str, str, Any]]:
        return [(a["status"], a["detail"], a["lot"]) for a in body["data"]["lots"]["answers"]]

    assert strip(real) == strip(none)


async def test_a_signed_request_is_bound_to_its_root_operation_depth_and_caller(
    federation: Federation,
) -> None:
    oem = federation.user("nordvolt")
    payload = {"query": TRACE_QUERY, "variables": {"lot": PACK}}
    headers = signed_headers(oem, payload)
    attempts = {
        "another root": {"query": TRACE_QUERY, "variables": {"lot": CELL}},
        "another depth": {"query": TRACE_QUERY, "variables": {"lot": PACK, "maxDepth": 3}},
        "another operation": {
            "query": "query($lot: ID) { exposure(lot: $lot) { products } }",
            "variables": {"lot": PACK},
        },
        "another document": {"query": TRACE_QUERY + " ", "variables": {"lot": PACK}},
    }
    async with aiohttp.ClientSession() as session:
        for name, attempt in attempts.items():
            fresh = signed_headers(oem, payload)  # unused so far: only the binding is at issue
            async with session.post(federation.gateway_url, json=attempt, headers=fresh) as r:
                assert r.status == 401, name
                assert "signed request was made for" in (await r.json())["errors"][0]["message"]
        # Another caller's certificate under nordvolt's request.
        other = {**headers, "oretrail-user-certificate": federation.user("rivalauto").certificate}
        async with session.post(federation.gateway_url, json=payload, headers=other) as r:
            assert r.status == 401
        # Used once: answered; used again: refused.
        async with session.post(federation.gateway_url, json=payload, headers=headers) as r:
            assert r.status == 200
            assert "errors" not in await r.json()
        async with session.post(federation.gateway_url, json=payload, headers=headers) as r:
            assert r.status == 401
            assert "already used" in (await r.json())["errors"][0]["message"]
        # Expired: signed six minutes ago for five.
        old = sign_request(
            oem, RequestContext(op="trace", roots=(PACK,)), lifetime=300, now=time.time() - 360
        )
        stale = {"Authorization": f"Bearer {old}", "oretrail-user-certificate": oem.certificate}
        async with session.post(federation.gateway_url, json=payload, headers=stale) as r:
            assert r.status == 401
            assert "expired" in (await r.json())["errors"][0]["message"]


# -- A dishonest member with its own genuine keys ---------------------------------------

RIVAL_SEED = """\
[organisation]
id = "rivalauto"
name = "Rival Automotive"
roles = ["OEM"]
country = "DE"

[[facilities]]
id = "rival-plant"
name = "Rival pack plant"
kind = "pack assembly"
country = "DE"
region = "Bavaria"

[[lots]]
id = "R-1"
material = "battery pack"
quantity = { value = 5, unit = "t" }
produced_at = 2026-04-20
facility = "rival-plant"
custody = "MASS_BALANCE"
contents = { Co = 0.02 }
inputs = [
  { lot = "urn:oretrail:lot:kambove-mining:MH-2026-031", quantity = { value = 60, unit = "t" } },
]
"""


def with_rival_node(registry: str) -> str:
    """The registry with rivalauto running a node over the seed above."""
    entry = 'id = "rivalauto"\nname = "Rival Automotive SE"\nroles = ["OEM"]\ncountry = "DE"\n'
    assert entry in registry
    return registry.replace(
        entry,
        entry + 'endpoint = "http://127.0.0.1:1/graphql"\nseed = "../graph/seed/rivalauto.toml"\n',
    )


async def test_a_member_cannot_open_a_lot_it_never_received(tmp_path: Path) -> None:
    """rivalauto's own node, with its genuine node key, says its pack consumed the mine's
    hydroxide and grants it. The mine's records show no shipment to rivalauto: refused,
    and nothing of the mine's lot reaches the trace."""
    config = edited_sample(
        tmp_path,
        {"config/registry.toml": with_rival_node},
        {"graph/seed/rivalauto.toml": RIVAL_SEED},
    )
    (tmp_path / "config" / "policies" / "rivalauto.toml").write_text(
        '[[rules]]\nrelation = "self"\ngroups = ["*"]\n', encoding="utf-8"
    )
    with served_federation(config) as federation:
        rival = federation.user("rivalauto")
        body = await graphql(
            federation.gateway_url, TRACE_QUERY, {"lot": f"{L}rivalauto:R-1"}, token=rival
        )
        assert "errors" not in body, body
        trace = body["data"]["trace"]
        assert trace["origins"] == []
        [gap] = [g for g in trace["gaps"] if g["lot"] == ORE]
        assert gap["reason"] == "WITHHELD"
        assert "Kambove" not in str(body)
        assert "Haut-Katanga" not in str(body)
        [entry] = federation.node_logs["kambove-mining"].records()
        assert entry["lots"][0]["status"] == "WITHHELD"
        assert "no shipment of this lot to rivalauto" in entry["lots"][0]["reason"]
        # Nothing it invented entered the model: no supply link, and no allocation on the
        # ore (60 t claimed of its 50 t would be an over-allocation the mine is shown).
        network = await graphql(
            federation.gateway_url,
            "{ supplyNetwork { supplier customer } }",
            token=federation.user("rivalauto"),
        )
        assert network["data"]["supplyNetwork"] == []
        owner = await graphql(
            federation.gateway_url,
            "{ overAllocations(tolerance: 0) { lot allocatedKg } }",
            token=federation.user("kambove-mining"),
        )
        assert owner["data"]["overAllocations"] == []


def claims_more_of_the_concentrate(seed: str) -> str:
    """The trader (who really bought 4 t of the cooperative's concentrate on 27 January)
    adds two lots that claim it too: one produced before the shipment, one after."""
    return (
        seed
        + """
[[lots]]
id = "CH-2026-001"
material = "cobalt hydroxide"
quantity = { value = 1, unit = "t" }
produced_at = 2026-01-10
facility = "likasi-yard"
custody = "CONTROLLED_BLENDING"
contents = { Co = 0.3 }
inputs = [
  { lot = "urn:oretrail:lot:kasulo-coop:HG-2026-007", quantity = { value = 0.5, unit = "t" } },
]

[[lots]]
id = "CH-2026-099"
material = "cobalt hydroxide"
quantity = { value = 3, unit = "t" }
produced_at = 2026-03-01
facility = "likasi-yard"
custody = "CONTROLLED_BLENDING"
contents = { Co = 0.3 }
inputs = [
  { lot = "urn:oretrail:lot:kasulo-coop:HG-2026-007", quantity = { value = 3, unit = "t" } },
]
"""
    )


async def test_a_member_claims_no_more_than_it_was_shipped_across_traces(tmp_path: Path) -> None:
    config = edited_sample(
        tmp_path, {"graph/seed/copperbelt-trading.toml": claims_more_of_the_concentrate}
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    with served_federation(config, log_dir=logs) as federation:
        trader = federation.user("copperbelt-trading")

        async def trace_as(user: UserIdentity, lot: str) -> dict[str, Any]:
            body = await graphql(federation.gateway_url, TRACE_QUERY, {"lot": lot}, token=user)
            assert "errors" not in body, body
            trace: dict[str, Any] = body["data"]["trace"]
            return trace

        def opened(trace: dict[str, Any]) -> bool:
            return CONCENTRATE in {o["lot"] for o in trace["origins"]}

        # 1. The real consumer, CH-2026-014 (4 t of 4 t shipped): served.
        assert opened(await trace_as(trader, HYDROXIDE))
        # 2. A lot made before the concentrate was shipped: refused by date.
        early = await trace_as(trader, f"{L}copperbelt-trading:CH-2026-001")
        assert not opened(early)
        # 3. An unrelated lot claiming 3 t more (7 t of 4 t): refused, flagged over-claimed.
        late = await trace_as(trader, f"{L}copperbelt-trading:CH-2026-099")
        assert not opened(late)
        # 4. The real consumer again, and the pack maker's trace through it: still served,
        #    unchanged (the accepted claim is replayed, not added).
        assert opened(await trace_as(trader, HYDROXIDE))
        assert opened(await trace_as(federation.user("nordvolt"), PACK))
        reasons = [
            lot.get("reason", "")
            for entry in federation.node_logs["kasulo-coop"].records()
            for lot in entry["lots"]
        ]
    assert any("shipped to it by then" in r for r in reasons), reasons
    assert any("over-claimed" in r and "7000 kg" in r for r in reasons), reasons
    ledger = (logs / "kasulo-coop.claims.jsonl").read_text(encoding="utf-8")
    assert '"over":"urn:oretrail:lot:kasulo-coop:HG-2026-007"' in ledger
    # Every grant received is kept: one per trace that reached the cooperative.
    assert ledger.count('"grant":') >= 4


# -- Exposure ------------------------------------------------------------------------------


OUTPUTS = "query($ids: [ID!]!) { outputs(ids: $ids) { id consumers { lot } shippedTo { to } } }"


async def test_exposure_reveals_no_customers_unless_the_policy_says_so(tmp_path: Path) -> None:
    """The cooperative asks the trader where its concentrate went: the trader's lot that
    consumed it, and (only where the trader's policy gives its suppliers the customers
    group) whom that lot was sold to. Asked as the hostile gateway would, directly."""

    def give_customers(policy: str) -> str:
        return policy + '\n[[rules]]\nrelation = "supplier"\ngroups = ["customers"]\n'

    for reveal in (False, True):
        edits = {"config/policies/copperbelt-trading.toml": give_customers} if reveal else {}
        config = edited_sample(tmp_path / str(reveal), edits)
        with served_federation(config) as federation:
            coop = federation.user("kasulo-coop")
            request = sign_request(coop, context("exposure", (CONCENTRATE,)))
            status, body = await ask_node(
                federation,
                "copperbelt-trading",
                request,
                coop.certificate,
                {"ids": [CONCENTRATE]},
                query=OUTPUTS,
            )
            assert status == 200, body
            exposure = await graphql(
                federation.gateway_url,
                "query($f: ID) { exposure(facility: $f) { reached } }",
                {"f": "urn:oretrail:facility:kasulo-coop:kasulo-site"},
                token=coop,
            )
        [answer] = body["data"]["outputs"]
        assert answer["consumers"] == [{"lot": HYDROXIDE}]
        assert answer["shippedTo"] == ([{"to": "boreal-cobalt"}] if reveal else [])
        # Through the gateway the walk reaches the trader's lot and stops there.
        assert exposure["data"]["exposure"]["reached"] == [CONCENTRATE, HYDROXIDE]


async def test_a_trace_request_cannot_call_outputs(federation: Federation) -> None:
    coop = federation.user("kasulo-coop")
    request = sign_request(coop, context(roots=(CONCENTRATE,)))
    status, body = await ask_node(
        federation,
        "copperbelt-trading",
        request,
        coop.certificate,
        {"ids": [CONCENTRATE]},
        query="query($ids: [ID!]!) { outputs(ids: $ids) { id consumers { lot } } }",
    )
    assert status == 200
    assert body["data"]["outputs"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


# -- The registry ---------------------------------------------------------------------------


async def test_only_the_members_own_signature_changes_what_a_node_pins(
    sample_config: FederationConfig,
) -> None:
    """Whoever edits the gateway's registry may swap nordvolt's key for one of its own:
    no node believes it. nordvolt's own statement, signed with its current key, does.
    (A federation of its own: the rotation must not leak into the other tests.)"""
    with served_federation(sample_config) as federation:
        await _rotation(federation)


async def _rotation(federation: Federation) -> None:
    swapped = generate_signing_key(org_issuer("nordvolt"), "nordvolt-swapped")
    impostor = UserIdentity.generate(swapped, "mallory@nordvolt")
    request = sign_request(impostor, context(roots=(PACK,)))
    status, _ = await ask_node(
        federation, "nordvolt", request, impostor.certificate, {"ids": [PACK]}
    )
    assert status == 401
    statement_url = federation.node_urls["nordvolt"].replace("/graphql", "/trust/statements")
    rotation = {"org_keys": [swapped.trusted().jwk()]}
    forged = mint(
        federation.keys.gateway,
        STATEMENT_TYP,
        {"sub": GATEWAY, "aud": FEDERATION, "member": rotation},
        lifetime=60,
    )
    genuine = mint(
        federation.keys.member("nordvolt").org_key,
        STATEMENT_TYP,
        {"sub": org_issuer("nordvolt"), "aud": FEDERATION, "member": rotation},
        lifetime=60,
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(statement_url, json={"statement": forged}) as response:
            assert response.status == 403
        status, _ = await ask_node(
            federation, "nordvolt", request, impostor.certificate, {"ids": [PACK]}
        )
        assert status == 401
        async with session.post(statement_url, json={"statement": genuine}) as response:
            assert response.status == 200, await response.text()
    request = sign_request(impostor, context(roots=(PACK,)))
    status, body = await ask_node(
        federation, "nordvolt", request, impostor.certificate, {"ids": [PACK]}
    )
    assert status == 200
    assert statuses(body) == [(PACK, "FOUND")]
    # Other nodes keep their own copies: unchanged until nordvolt tells them too.
    other = federation.node_security["aurora-cells"].authority.pinned
    assert await other.org_keys.get("nordvolt-swapped") is None


def withhold_quantities_downstream(policy: str) -> str:
    """helios-cathode's downstream rule without the quantities group."""
    rule = 'relation = "downstream"\ngroups = ['
    start = policy.index(rule) + len(rule)
    end = policy.index("]", start)
    groups = [g for g in policy[start:end].split(", ") if g != '"quantities"']
    return policy[:start] + ", ".join(groups) + policy[end:]


async def test_quantities_withheld_from_the_caller_reach_the_supplier_sealed(
    tmp_path: Path,
) -> None:
    """helios withholds quantities from the pack maker. Its grants still let its suppliers
    check their shipments, but neither the gateway nor the caller reads the figure."""
    config = edited_sample(
        tmp_path, {"config/policies/helios-cathode.toml": withhold_quantities_downstream}
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    with served_federation(config, log_dir=logs) as federation:
        body = await graphql(
            federation.gateway_url, TRACE_QUERY, {"lot": PACK}, token=federation.user("nordvolt")
        )
    assert "errors" not in body, body
    origins = {o["lot"] for o in body["data"]["trace"]["origins"]}
    assert ORE in origins  # reached through helios' sealed grant to boreal
    kept = [
        json.loads(line)["grant"]
        for line in (logs / "boreal-cobalt.claims.jsonl").read_text().splitlines()
        if '"grant"' in line
    ]
    from_helios = [
        payload(g) for g in kept if payload(g)["iss"] == "urn:oretrail:node:helios-cathode"
    ]
    assert from_helios
    for grant in from_helios:
        assert all(kilograms is None for link in grant["links"] for _, kilograms in link["in"])
        assert grant["sealed"].count(".") == 4


# Transparency requests name the end of the last closed quarter and carry the approved
# query's declaration, as the gateway forwards it (auth.declarations).
PERIOD = last_closed_period(datetime.now(UTC))
AS_OF = PERIOD.closes_at
DECLARED = {
    HEADER_APPROVED_QUERY: load_approved(CONFIG_DIR / "approved").get("artisanal-share").forwarded()
}


def payload(grant: str) -> dict[str, Any]:
    body = grant.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


async def test_transparency_roots_come_only_from_the_owners_signed_list(
    sample_config: FederationConfig,
) -> None:
    """An NGO's transparency request opens the pack only with nordvolt's own signed list;
    a list signed by anyone else (or none) opens nothing."""
    # A federation of its own: the root lists signed here must not meet other tests.
    with served_federation(sample_config) as federation:
        await _transparency_roots_come_only_from_the_owners_signed_list(federation)


async def _transparency_roots_come_only_from_the_owners_signed_list(federation: Federation) -> None:
    ngo = federation.user("transparency-watch")
    line = "nordvolt-packs-2026"
    request = sign_request(
        ngo,
        RequestContext(op="transparency", depth=20, doc="artisanal-share", line=line, as_of=AS_OF),
    )
    lists = {
        "the owner's": sign_root_list(
            federation.keys.member("nordvolt").org_key, line, [PACK], PERIOD.label
        ),
        "a rival's": sign_root_list(
            federation.keys.member("rivalauto").org_key, line, [PACK], PERIOD.label
        ),
        "the gateway's": mint(
            SigningKey(
                org_issuer("nordvolt"), federation.keys.gateway.kid, federation.keys.gateway.private
            ),
            "roots+jwt",
            {"sub": line, "aud": FEDERATION, "roots": [PACK], "period": PERIOD.label},
            lifetime=60,
        ),
    }
    outcomes = {}
    for name, roots in lists.items():
        status, body = await ask_node(
            federation,
            "nordvolt",
            request,
            ngo.certificate,
            {"ids": [PACK]},
            extra={HEADER_ROOTS: roots, **DECLARED},
        )
        outcomes[name] = statuses(body)[0][1] if status == 200 else status
    assert outcomes == {"the owner's": "FOUND", "a rival's": "WITHHELD", "the gateway's": 401}
    status, _ = await ask_node(
        federation, "nordvolt", request, ngo.certificate, {"ids": [PACK]}, extra=DECLARED
    )
    assert status == 401


TRANSPARENCY_WALK = (
    "query($ids: [ID!]!, $grants: [String!]) { lots(ids: $ids, grants: $grants) "
    "{ answers { id status lot { facility { name } inputs { lot } } } "
    "continuations { owner lots grant } } }"
)


async def walk(
    federation: Federation, user: UserIdentity, request: str, roots: str
) -> dict[str, Any]:
    """Walk a product line as a hostile gateway would, with the lots document: every
    lot answered, by id."""
    pending: dict[str, list[str]] = {"nordvolt": [PACK]}
    grants: list[str] = []
    answers: dict[str, Any] = {}
    for _ in range(8):
        following: dict[str, list[str]] = {}
        for org, ids in pending.items():
            status, body = await ask_node(
                federation,
                org,
                request,
                user.certificate,
                {"ids": ids, "grants": grants},
                query=TRANSPARENCY_WALK,
                extra={HEADER_ROOTS: roots, **DECLARED},
            )
            assert status == 200, body
            for answer in body["data"]["lots"]["answers"]:
                answers[answer["id"]] = answer
            for continuation in body["data"]["lots"]["continuations"]:
                grants.append(continuation["grant"])
                for lot in continuation["lots"]:
                    following.setdefault(lot.split(":")[3], []).append(lot)
        pending = following
    return answers


async def test_a_transparency_request_gives_only_what_the_transparency_rule_gives(
    federation: Federation,
) -> None:
    """Even walked lot by lot, an NGO's approved query gets no site details or supplier
    names upstream (the downstream rule never applies to it); a competitor's own
    'transparency' request, or one for a query no node lists, gets nothing at all."""
    line = "nordvolt-packs-2026"
    roots = federation.transparency_roots(line)
    ngo = federation.user("transparency-watch")
    approved = sign_request(
        ngo,
        RequestContext(op="transparency", depth=20, doc="artisanal-share", line=line, as_of=AS_OF),
    )
    answers = await walk(federation, ngo, approved, roots)
    found = [a for a in answers.values() if a["status"] == "FOUND"]
    assert len(found) > 10
    assert all(a["lot"]["facility"]["name"] is None for a in found)
    rival = federation.user("rivalauto")
    for signer, doc in ((rival, "artisanal-share"), (ngo, "not-approved")):
        context = RequestContext(op="transparency", depth=20, doc=doc, line=line, as_of=AS_OF)
        attempt = sign_request(signer, context)
        _, body = await ask_node(
            federation,
            "nordvolt",
            attempt,
            signer.certificate,
            {"ids": [PACK]},
            extra={HEADER_ROOTS: roots, **DECLARED},
        )
        assert statuses(body) == [(PACK, "WITHHELD")]


async def test_an_owner_withdraws_a_root_with_a_newer_list(sample_config: FederationConfig) -> None:
    # A federation of its own: the root lists signed here must not meet other tests.
    with served_federation(sample_config) as federation:
        await _an_owner_withdraws_a_root_with_a_newer_list(federation)


async def _an_owner_withdraws_a_root_with_a_newer_list(federation: Federation) -> None:
    line = "nordvolt-packs-2026"
    key = federation.keys.member("nordvolt").org_key
    ngo = federation.user("transparency-watch")
    request = sign_request(
        ngo,
        RequestContext(op="transparency", depth=20, doc="artisanal-share", line=line, as_of=AS_OF),
    )
    old = mint(
        key,
        "roots+jwt",
        {"sub": line, "aud": FEDERATION, "roots": [PACK], "period": PERIOD.label},
        lifetime=600,
        now=time.time() - 60,
    )
    new = mint(
        key,
        "roots+jwt",
        {"sub": line, "aud": FEDERATION, "roots": [], "period": PERIOD.label},
        lifetime=600,
    )
    outcomes = []
    for roots in (old, new, old):
        status, body = await ask_node(
            federation,
            "nordvolt",
            request,
            ngo.certificate,
            {"ids": [PACK]},
            extra={HEADER_ROOTS: roots, **DECLARED},
        )
        outcomes.append(statuses(body)[0][1] if status == 200 else status)
    assert outcomes == ["FOUND", "WITHHELD", 401]
