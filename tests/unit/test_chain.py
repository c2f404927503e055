"""Delegated tokens and continuation grants at a node: every broken link is refused."""

from __future__ import annotations

from typing import Any

import pytest

from oretrail.auth.chain import Caller, Delegation, NodeAuthority, Principal
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


def authority(org: str, key: Any) -> NodeAuthority:
    return NodeAuthority(org, key, StaticKeys(RING))


async def hop(txn: str = "txn-1") -> tuple[NodeAuthority, Principal, str, str, str]:
    """The refiner serves SULFATE and grants its input HYDROXIDE to the trader's node."""
    delegation = Delegation(GATEWAY_KEY, OEM, txn, "trace")
    refiner = authority("boreal-cobalt", REFINER_KEY)
    refiner_token = delegation.token_for("boreal-cobalt")
    at_refiner = await refiner.principal(refiner_token)
    grant = refiner.issue_grant(at_refiner, HYDROXIDE, SULFATE)
    trader_token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("copperbelt-trading")
    trader = authority("copperbelt-trading", TRADER_KEY)
    return trader, await trader.principal(trader_token), grant, refiner_token, trader_token


async def test_a_valid_chain_opens_the_input_lot() -> None:
    trader, principal, grant, parent, _ = await hop()
    assert await trader.check_grant(principal, HYDROXIDE, grant, parent) == "boreal-cobalt"


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


async def test_a_grant_for_lot_x_used_for_lot_y_is_refused() -> None:
    trader, principal, grant, parent, _ = await hop()
    other = "urn:oretrail:lot:copperbelt-trading:CH-2026-999"
    with pytest.raises(TokenRejected, match="grant is for another lot"):
        await trader.check_grant(principal, other, grant, parent)


async def test_a_grant_signed_by_the_gateway_is_refused() -> None:
    trader, principal, _, parent, _ = await hop()
    forged = mint(
        GATEWAY_KEY,
        GRANT_TYP,
        {
            "sub": OEM.sub,
            "org": OEM.org,
            "aud": node_audience("copperbelt-trading"),
            "lot": HYDROXIDE,
            "via": SULFATE,
            "txn": "txn-1",
            "th": token_hash(parent),
        },
        lifetime=60,
    )
    with pytest.raises(TokenRejected, match="signed by nodes, not by the gateway"):
        await trader.check_grant(principal, HYDROXIDE, forged, parent)


async def test_a_grant_from_another_trace_is_refused() -> None:
    trader, principal, _, _, _ = await hop()
    _, _, other_grant, other_parent, _ = await hop(txn="txn-2")
    with pytest.raises(TokenRejected, match="txn mismatch"):
        await trader.check_grant(principal, HYDROXIDE, other_grant, other_parent)


async def test_a_broken_token_hash_link_is_refused() -> None:
    trader, principal, grant, _, _ = await hop()
    # Another token the refiner could have received in the same trace: right txn, wrong hash.
    substitute = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("boreal-cobalt")
    with pytest.raises(TokenRejected, match="broken token-hash link"):
        await trader.check_grant(principal, HYDROXIDE, grant, substitute)


async def test_a_grant_whose_via_lot_is_not_the_granters_is_refused() -> None:
    trader, principal, _, parent, _ = await hop()
    forged = mint(
        REFINER_KEY,
        GRANT_TYP,
        {
            "sub": OEM.sub,
            "org": OEM.org,
            "aud": node_audience("copperbelt-trading"),
            "lot": HYDROXIDE,
            "via": ORE,
            "txn": "txn-1",
            "th": token_hash(parent),
        },
        lifetime=60,
    )
    with pytest.raises(TokenRejected, match="'via' lot does not belong"):
        await trader.check_grant(principal, HYDROXIDE, forged, parent)


async def test_a_grant_is_single_use_and_bound_to_its_caller() -> None:
    trader, principal, grant, parent, _ = await hop()
    await trader.check_grant(principal, HYDROXIDE, grant, parent)
    with pytest.raises(TokenRejected, match="already used"):
        await trader.check_grant(principal, HYDROXIDE, grant, parent)
    trader2, _, grant2, parent2, _ = await hop()
    rival = Principal("spy@rivalauto", "rivalauto", frozenset(), "trace", "txn-1", "x")
    with pytest.raises(TokenRejected, match="another caller"):
        await trader2.check_grant(rival, HYDROXIDE, grant2, parent2)


async def test_a_grant_addressed_to_another_node_is_refused() -> None:
    _, _, grant, parent, _ = await hop()
    oem_node = authority("nordvolt", OEM_KEY)
    token = Delegation(GATEWAY_KEY, OEM, "txn-1", "trace").token_for("nordvolt")
    principal = await oem_node.principal(token)
    with pytest.raises(TokenRejected, match="audience"):
        await oem_node.check_grant(principal, HYDROXIDE, grant, parent)
