"""Continuation grants: a chain opens a lot only back to a root of the signed request."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from oretrail.auth.grants import GRANT_TYP, Claim, GrantIssuer, GrantVerifier, InputLink
from oretrail.auth.requests import SignedRequest
from oretrail.auth.tokens import mint, node_audience, token_hash
from tests.unit.trust_fixtures import (
    CATHODE,
    KEYS,
    ORE,
    PACK,
    PRODUCED,
    SULFATE,
    pinned,
    signed,
)


def issuer(org: str) -> GrantIssuer:
    return GrantIssuer(org, KEYS.member(org).node_key)


def verifier(org: str) -> GrantVerifier:
    return GrantVerifier(org, pinned().node_keys)


async def chain(request: SignedRequest) -> tuple[str, str, str]:
    """nordvolt opens CATHODE (hop 1), helios SULFATE (hop 2), boreal ORE (hop 3)."""
    [g0] = issuer("nordvolt").issue(
        request, [InputLink(PACK, PRODUCED, 0, None, CATHODE, 18_000.0)]
    )
    [g1] = issuer("helios-cathode").issue(
        request, [InputLink(CATHODE, PRODUCED, 1, token_hash(g0.grant), SULFATE, 2_900.0)]
    )
    [g2] = issuer("boreal-cobalt").issue(
        request, [InputLink(SULFATE, PRODUCED, 2, token_hash(g1.grant), ORE, 3_000.0)]
    )
    return g0.grant, g1.grant, g2.grant


async def claims_at(org: str, request: SignedRequest, grants: list[str]) -> Any:
    return await verifier(org).claims(request, frozenset(request.context.roots), grants)


async def test_a_whole_chain_opens_each_input_at_its_own_node() -> None:
    request = await signed()
    g0, g1, g2 = await chain(request)
    opened, refusal = await claims_at("kambove-mining", request, [g2, g1, g0])
    assert refusal is None
    [claim] = opened[ORE]
    assert claim == Claim(ORE, "boreal-cobalt", SULFATE, PRODUCED, 3, 3_000.0, token_hash(g2))
    opened, _ = await claims_at("boreal-cobalt", request, [g1, g0])
    assert [c.consumer for c in opened[SULFATE]] == [CATHODE]


async def test_a_chain_missing_an_ancestor_opens_nothing() -> None:
    request = await signed()
    _, g1, g2 = await chain(request)
    opened, refusal = await claims_at("kambove-mining", request, [g2, g1])
    assert opened == {}
    assert refusal is not None
    assert "does not carry" in refusal


async def test_a_chain_from_a_lot_that_is_not_a_root_is_refused() -> None:
    """A dishonest node grants from a lot of its own that no request named as root."""
    request = await signed()
    [forged] = issuer("rivalauto").issue(
        request,
        [InputLink("urn:oretrail:lot:rivalauto:R1", PRODUCED, 0, None, ORE, 1.0)],
    )
    opened, refusal = await claims_at("kambove-mining", request, [forged.grant])
    assert opened == {}
    assert refusal is not None
    assert "root" in refusal


async def test_a_grant_naming_a_lot_its_parent_never_opened_is_refused() -> None:
    """helios claims SULFATE2 fed a lot nordvolt never granted it (a made-up consumer)."""
    request = await signed()
    g0, _, _ = await chain(request)
    [fake] = issuer("helios-cathode").issue(
        request,
        [
            InputLink(
                "urn:oretrail:lot:helios-cathode:C9", PRODUCED, 1, token_hash(g0), SULFATE, 1.0
            )
        ],
    )
    opened, refusal = await claims_at("boreal-cobalt", request, [fake.grant, g0])
    assert opened == {}
    assert refusal is not None
    assert "does not open the consuming lot" in refusal


async def test_a_chain_of_another_request_or_caller_is_refused() -> None:
    first, second = await signed(), await signed()
    g0, g1, _ = await chain(first)
    opened, refusal = await claims_at("boreal-cobalt", second, [g1, g0])
    assert opened == {}
    assert refusal is not None
    assert "another signed request" in refusal


async def test_a_chain_past_the_request_depth_is_refused() -> None:
    request = await signed(depth=2)
    _, g1, g2 = await chain(request)
    g0 = (await chain(request))[0]
    opened, refusal = await claims_at("kambove-mining", request, [g2, g1, g0])
    assert opened == {}
    assert refusal is not None
    assert "depth" in refusal


def forged(key: Any, audience: str, request: SignedRequest, **extra: Any) -> str:
    claims = {
        "sub": request.sub,
        "aud": audience,
        "req": request.hash,
        "links": [{"via": "P1", "made": "2026-04-10", "hop": 1, "prev": None, "in": [["C1", 1.0]]}],
        **extra,
    }
    return mint(key, GRANT_TYP, claims, lifetime=60)


@pytest.mark.parametrize(
    "signer",
    ["gateway", "nordvolt-org-key", "helios-node-key-as-nordvolt"],
)
async def test_a_grant_not_signed_by_the_consuming_lots_node_is_refused(signer: str) -> None:
    request = await signed()
    key = {
        "gateway": KEYS.gateway,
        "nordvolt-org-key": KEYS.member("nordvolt").org_key,
        "helios-node-key-as-nordvolt": KEYS.member("helios-cathode").node_key,
    }[signer]
    grant = forged(key, node_audience("helios-cathode"), request)
    opened, refusal = await claims_at("helios-cathode", request, [grant])
    assert opened == {}
    assert refusal is not None


async def test_a_grant_addressed_to_another_node_opens_nothing_here() -> None:
    request = await signed()
    grant = forged(KEYS.member("nordvolt").node_key, node_audience("boreal-cobalt"), request)
    opened, _ = await claims_at("helios-cathode", request, [grant])
    assert opened == {}


@pytest.mark.parametrize(
    ("links", "refusal"),
    [
        ([], "links"),
        ([{"via": "../x", "made": "2026-04-10", "hop": 1, "prev": None, "in": [["C1", 1]]}], "via"),
        ([{"via": "P1", "made": "yesterday", "hop": 1, "prev": None, "in": [["C1", 1]]}], "made"),
        ([{"via": "P1", "made": "2026-04-10", "hop": 0, "prev": None, "in": [["C1", 1]]}], "hop"),
        (
            [{"via": "P1", "made": "2026-04-10", "hop": 1, "prev": None, "in": [["C1", -1]]}],
            "quantity",
        ),
        ([{"via": "P1", "made": "2026-04-10", "hop": 1, "prev": None, "in": []}], "inputs"),
        ([{"via": "P1", "made": "2026-04-10", "hop": 1, "prev": 7, "in": [["C1", 1]]}], "prev"),
    ],
)
async def test_a_malformed_grant_is_refused(links: object, refusal: str) -> None:
    request = await signed()
    grant = forged(
        KEYS.member("nordvolt").node_key,
        node_audience("helios-cathode"),
        request,
        links=links,
    )
    opened, reason = await claims_at("helios-cathode", request, [grant])
    assert opened == {}
    assert reason is not None
    assert refusal in reason


async def test_a_bogus_grant_does_not_hide_a_good_one() -> None:
    request = await signed()
    g0, _, _ = await chain(request)
    bogus = forged(KEYS.gateway, node_audience("helios-cathode"), request)
    opened, refusal = await claims_at("helios-cathode", request, [bogus, g0, "garbage"])
    assert list(opened) == [CATHODE]
    assert refusal is not None


async def test_one_grant_per_supplier_covers_all_its_links() -> None:
    request = await signed()
    links = [
        InputLink(PACK, PRODUCED, 0, None, f"urn:oretrail:lot:helios-cathode:C{i}", 1.0)
        for i in range(3)
    ] + [InputLink(PACK, PRODUCED, 0, None, ORE, 1.0)]
    continuations = issuer("nordvolt").issue(request, links)
    assert [(c.owner, len(c.lots)) for c in continuations] == [
        ("helios-cathode", 3),
        ("kambove-mining", 1),
    ]


def issuer_sealing(org: str) -> GrantIssuer:
    """An issuer that seals withheld figures to the audience's pinned encryption key."""
    return GrantIssuer(org, KEYS.member(org).node_key, pinned().encryption_key)


def payload(grant: str) -> dict[str, Any]:
    """What anyone routing the grant can read of it (its unverified payload)."""
    body = grant.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


async def test_a_withheld_quantity_travels_sealed_to_the_supplier_only() -> None:
    """nordvolt's policy withholds quantities from the caller: the gateway sees no figure,
    helios' node opens it and checks the claim with it."""
    request = await signed()
    [g0] = issuer_sealing("nordvolt").issue(
        request, [InputLink(PACK, PRODUCED, 0, None, CATHODE, 18_000.0, sealed=True)]
    )
    readable = payload(g0.grant)
    assert readable["links"][0]["in"] == [["C1", None]]
    assert "18000" not in json.dumps(readable)
    assert readable["sealed"].count(".") == 4  # a compact JWE
    at_helios = GrantVerifier(
        "helios-cathode", pinned().node_keys, KEYS.member("helios-cathode").enc_key
    )
    opened, refusal = await at_helios.claims(request, frozenset({PACK}), [g0.grant])
    assert refusal is None
    assert [c.kilograms for c in opened[CATHODE]] == [18_000.0]
    # Another node's key opens nothing: the grant is refused, not read as zero.
    at_boreal = GrantVerifier(
        "helios-cathode", pinned().node_keys, KEYS.member("boreal-cobalt").enc_key
    )
    opened, refusal = await at_boreal.claims(request, frozenset({PACK}), [g0.grant])
    assert opened == {}
    assert refusal is not None
    assert "cannot be opened" in refusal


async def test_two_deliveries_of_one_input_add_up_in_the_grant() -> None:
    request = await signed()
    [g0] = issuer("nordvolt").issue(
        request,
        [
            InputLink(PACK, PRODUCED, 0, None, CATHODE, 3_000.0),
            InputLink(PACK, PRODUCED, 0, None, CATHODE, 2_000.0),
        ],
    )
    assert payload(g0.grant)["links"][0]["in"] == [["C1", 5_000.0]]


async def test_an_entry_whose_chain_is_missing_does_not_sink_the_others_in_its_grant() -> None:
    """One grant, two consuming lots: the chain of one is presented, the other's is not.
    The lot of the verified entry opens; the other entry opens nothing."""
    request = await signed()
    g0, _, _ = await chain(request)
    missing = "x" * 43  # a grant hash the request does not carry
    [both] = issuer("helios-cathode").issue(
        request,
        [
            InputLink(CATHODE, PRODUCED, 1, token_hash(g0), SULFATE, 1_000.0),
            InputLink(f"{CATHODE}-B", PRODUCED, 1, missing, f"{SULFATE}-B", 1_000.0),
        ],
    )
    opened, refusal = await claims_at("boreal-cobalt", request, [both.grant, g0])
    assert list(opened) == [SULFATE]
    assert refusal is not None
    assert "does not carry" in refusal


async def test_a_grant_verified_before_may_be_named_by_its_hash() -> None:
    """A deep trace need not send a node the same ancestors twice: a reference works
    for a grant this node verified, for this request only; an unknown one opens nothing."""
    request = await signed()
    g0, g1, _ = await chain(request)
    at_boreal = verifier("boreal-cobalt")
    roots = frozenset(request.context.roots)
    first, _ = await at_boreal.claims(request, roots, [g1, g0])
    again, refusal = await at_boreal.claims(request, roots, [g1, f"#{token_hash(g0)}"])
    assert list(first) == list(again) == [SULFATE]
    assert refusal is None
    # Another request cannot use the grant through its reference.
    other = await signed()
    stolen, refusal = await at_boreal.claims(
        other, roots, [f"#{token_hash(g1)}", f"#{token_hash(g0)}"]
    )
    assert stolen == {}
    assert refusal is not None
    # A node that never verified the grant refuses the reference.
    fresh, refusal = await verifier("boreal-cobalt").claims(
        request, roots, [g1, f"#{token_hash(g0)}"]
    )
    assert fresh == {}
    assert refusal is not None
    assert "holds no valid copy" in refusal
