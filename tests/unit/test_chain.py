"""Delegated tokens and continuation grants at a node: every broken link is refused."""

from __future__ import annotations

from typing import Any

import pytest

from oretrail.auth import chain
from oretrail.auth.chain import Caller, Delegation, NodeAuthority, Opened, Principal
from oretrail.auth.keys import KeyRing, generate_signing_key
from oretrail.auth.tokens import (
    ACCESS_TYP,
    GATEWAY,
    GRANT_TYP,
    StaticKeys,
    mint,
    node_audience,
    org_issuer,
    token_hash,
)
from oretrail.errors import TokenRejected

GATEWAY_KEY = generate_signing_key(GATEWAY, "gateway-1")
TRADER_KEY = generate_signing_key(org_issuer("copperbelt-trading"), "trader-1")
REFINER_KEY = generate_signing_key(org_issuer("boreal-cobalt"), "refiner-1")
OEM_KEY = generate_signing_key(org_issuer("nordvolt"), "oem-1")
RING = KeyRing()
for _key in (GATEWAY_KEY, TRADER_KEY, REFINER_KEY, OEM_KEY):
    RING.add(_key.trusted())

OEM = Caller("analyst@nordvolt", "nordvolt", frozenset({"OEM"}), frozenset({"trace"}))
HYDROXIDE = "urn:oretrail:lot:copperbelt-trading:CH-2026-014"
SULFATE = "urn:oretrail:lot:boreal-cobalt:CS-2026-102"
ORE = "urn:oretrail:lot:kasulo-coop:HG-2026-007"
CARBONATE = "urn:oretrail:lot:copperbelt-trading:CC-2026-003"


def authority(org: str, key: Any) -> NodeAuthority:
    return NodeAuthority(org, key, StaticKeys(RING))


async def hop(txn: str = "txn-1") -> tuple[NodeAuthority, Principal, str, str, str]:
    """The refiner serves SULFATE and grants its input HYDROXIDE to the trader's node."""
    delegation = Delegation(GATEWAY_KEY, OEM, txn, "trace")
    refiner = authority("boreal-cobalt", REFINER_KEY)
    refiner_token = delegation.token_for("boreal-cobalt")
    at_refiner = await refiner.principal(refiner_token)
    [continuation] = refiner.issue_grants(at_refiner, [(HYDROXIDE, SULFATE)])
    grant = continuation.grant
    trader_token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("copperbelt-trading")
    trader = authority("copperbelt-trading", TRADER_KEY)
    return trader, await trader.principal(trader_token), grant, refiner_token, trader_token


def grant_signed_by(key: Any, inputs: object, parent: str) -> str:
    """A grant to the trader's node for the OEM's trace, as ``key`` would sign it."""
    claims = {
        "sub": OEM.sub,
        "org": OEM.org,
        "aud": node_audience("copperbelt-trading"),
        "inputs": inputs,
        "txn": "txn-1",
        "th": token_hash(parent),
    }
    return mint(key, GRANT_TYP, claims, lifetime=60)


async def test_a_valid_chain_opens_the_input_lot() -> None:
    trader, principal, grant, parent, _ = await hop()
    opened = await trader.check_grant(principal, grant, parent)
    assert opened == Opened("boreal-cobalt", frozenset({HYDROXIDE}))


async def test_one_grant_per_supplier_opens_all_its_inputs_and_nothing_else() -> None:
    delegation = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace")
    refiner = authority("boreal-cobalt", REFINER_KEY)
    refiner_token = delegation.token_for("boreal-cobalt")
    at_refiner = await refiner.principal(refiner_token)
    other_sulfate = "urn:oretrail:lot:boreal-cobalt:CS-2026-103"
    links = [(HYDROXIDE, SULFATE), (ORE, SULFATE), (CARBONATE, other_sulfate)]
    continuations = refiner.issue_grants(at_refiner, links)
    assert [(c.owner, c.lots) for c in continuations] == [
        ("copperbelt-trading", (HYDROXIDE, CARBONATE)),
        ("kasulo-coop", (ORE,)),
    ]
    trader = authority("copperbelt-trading", TRADER_KEY)
    at_trader = await trader.principal(delegation.token_for("copperbelt-trading"))
    opened = await trader.check_grant(at_trader, continuations[0].grant, refiner_token)
    assert opened.lots == {HYDROXIDE, CARBONATE}
    # The grant for the cooperative's ore is not addressed to the trader.
    with pytest.raises(TokenRejected, match="audience"):
        await trader.check_grant(at_trader, continuations[1].grant, refiner_token)


async def test_links_beyond_the_limit_of_one_grant_get_more_grants(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chain, "GRANT_MAX_LINKS", 2)
    refiner = authority("boreal-cobalt", REFINER_KEY)
    token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("boreal-cobalt")
    at_refiner = await refiner.principal(token)
    inputs = [f"urn:oretrail:lot:copperbelt-trading:CH-{i}" for i in range(5)]
    continuations = refiner.issue_grants(at_refiner, [(i, SULFATE) for i in inputs])
    assert [len(c.lots) for c in continuations] == [2, 2, 1]
    assert [lot for c in continuations for lot in c.lots] == inputs


async def test_node_as_token_shown_to_node_b_is_refused() -> None:
    token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("boreal-cobalt")
    with pytest.raises(TokenRejected, match="audience"):
        await authority("copperbelt-trading", TRADER_KEY).principal(token)


async def test_a_caller_token_shown_to_a_node_is_refused() -> None:
    caller_token = mint(
        OEM_KEY, ACCESS_TYP, {"sub": "a", "org": "nordvolt", "aud": GATEWAY}, lifetime=60
    )
    with pytest.raises(TokenRejected, match="audience"):
        await authority("boreal-cobalt", REFINER_KEY).principal(caller_token)
    # Even addressed to the node, a token not minted by the gateway is refused.
    direct = mint(
        OEM_KEY,
        ACCESS_TYP,
        {
            "sub": "a",
            "org": "nordvolt",
            "roles": [],
            "purpose": "trace",
            "txn": "t",
            "act": {"sub": GATEWAY},
            "aud": node_audience("boreal-cobalt"),
        },
        lifetime=60,
    )
    with pytest.raises(TokenRejected, match="only delegated tokens minted by the gateway"):
        await authority("boreal-cobalt", REFINER_KEY).principal(direct)


async def test_a_delegated_token_is_single_use() -> None:
    token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("boreal-cobalt")
    refiner = authority("boreal-cobalt", REFINER_KEY)
    await refiner.principal(token)
    with pytest.raises(TokenRejected, match="already used"):
        await refiner.principal(token)


@pytest.mark.parametrize("local_length", [36, 128])
async def test_grants_split_by_size_stay_within_what_the_supplier_accepts(
    local_length: int,
) -> None:
    # A thousand links with long local ids (UUIDs; the longest ids allowed), each
    # consumed by a lot of its own: the supplier must accept every grant.
    delegation = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace")
    refiner = authority("boreal-cobalt", REFINER_KEY)
    refiner_token = delegation.token_for("boreal-cobalt")
    at_refiner = await refiner.principal(refiner_token)
    links = [
        (
            f"urn:oretrail:lot:copperbelt-trading:{'I' * (local_length - 4)}{i:04d}",
            f"urn:oretrail:lot:boreal-cobalt:{'V' * (local_length - 4)}{i:04d}",
        )
        for i in range(1000)
    ]
    continuations = refiner.issue_grants(at_refiner, links)
    assert len(continuations) > 1
    trader = authority("copperbelt-trading", TRADER_KEY)
    at_trader = await trader.principal(delegation.token_for("copperbelt-trading"))
    opened: set[str] = set()
    for continuation in continuations:
        assert len(continuation.grant) <= chain.GRANT_MAX_BYTES
        opened |= (await trader.check_grant(at_trader, continuation.grant, refiner_token)).lots
    assert opened == {lot for lot, _ in links}


async def test_a_grant_for_lot_x_does_not_open_lot_y() -> None:
    trader, principal, grant, parent, _ = await hop()
    other = "urn:oretrail:lot:copperbelt-trading:CH-2026-999"
    assert other not in (await trader.check_grant(principal, grant, parent)).lots


async def test_a_grant_signed_by_the_gateway_is_refused() -> None:
    trader, principal, _, parent, _ = await hop()
    forged = grant_signed_by(GATEWAY_KEY, {"CS-2026-102": ["CH-2026-014"]}, parent)
    with pytest.raises(TokenRejected, match="signed by nodes, not by the gateway"):
        await trader.check_grant(principal, forged, parent)


async def test_a_grant_from_another_trace_is_refused() -> None:
    trader, principal, _, _, _ = await hop()
    _, _, other_grant, other_parent, _ = await hop(txn="txn-2")
    with pytest.raises(TokenRejected, match="txn mismatch"):
        await trader.check_grant(principal, other_grant, other_parent)


async def test_a_broken_token_hash_link_is_refused() -> None:
    trader, principal, grant, _, _ = await hop()
    # Another token the refiner could have received in the same trace: right txn, wrong hash.
    substitute = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("boreal-cobalt")
    with pytest.raises(TokenRejected, match="broken token-hash link"):
        await trader.check_grant(principal, grant, substitute)


@pytest.mark.parametrize(
    ("inputs", "refusal"),
    [
        (None, "names no inputs"),
        ({}, "names no inputs"),
        (["CH-2026-014"], "names no inputs"),
        ({"CS-2026-102": "CH-2026-014"}, "not lists of lot ids"),
        ({"CS-2026-102": []}, "not lists of lot ids"),
        ({"CS 2026": ["CH-2026-014"]}, "invalid 'via' lot"),
        ({"CS-2026-102": ["CH-2026-014", 7]}, "invalid input lot"),
        # A full id of another organisation's lot is no local id of the trader's.
        ({"CS-2026-102": [ORE]}, "invalid input lot"),
    ],
)
async def test_a_grant_whose_inputs_are_malformed_is_refused(inputs: object, refusal: str) -> None:
    trader, principal, _, parent, _ = await hop()
    forged = grant_signed_by(REFINER_KEY, inputs, parent)
    with pytest.raises(TokenRejected, match=refusal):
        await trader.check_grant(principal, forged, parent)


async def test_a_grant_may_be_presented_again_but_only_for_its_caller() -> None:
    trader, principal, grant, parent, _ = await hop()
    first = await trader.check_grant(principal, grant, parent)
    # A retry, or its lots asked over two requests of the same trace.
    assert await trader.check_grant(principal, grant, parent) == first
    rival = Principal("spy@rivalauto", "rivalauto", frozenset(), "trace", "txn-1", "x")
    with pytest.raises(TokenRejected, match="another caller"):
        await trader.check_grant(rival, grant, parent)


async def test_a_grant_addressed_to_another_node_is_refused() -> None:
    _, _, grant, parent, _ = await hop()
    oem_node = authority("nordvolt", OEM_KEY)
    token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("nordvolt")
    principal = await oem_node.principal(token)
    with pytest.raises(TokenRejected, match="audience"):
        await oem_node.check_grant(principal, grant, parent)
