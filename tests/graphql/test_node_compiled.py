"""The node's direct answer to the gateway's lots document equals the general executor's.

Both renderings run over the same decisions, for every node of the sample pack, every
registered caller, with and without continuation grants, and for every combination
of field groups a policy can give; data and errors (paths, locations, codes) must be
identical. Grant strings differ between runs (fresh ``jti``) and are compared apart.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from oretrail.auth.access_log import AccessLog
from oretrail.auth.chain import Caller, Delegation, NodeAuthority, Principal
from oretrail.auth.keys import KeyRing, SigningKey, generate_signing_key
from oretrail.auth.policy import FIELD_GROUPS, Policy, Relation, Rule, load_policy
from oretrail.auth.tokens import GATEWAY, StaticKeys, org_issuer
from oretrail.config import load_registry
from oretrail.node.compiled import LotsRequest, execute_lots, match_lots
from oretrail.node.lots import MAX_IDS_PER_REQUEST, NodeContext, PresentedGrant
from oretrail.node.schema import build_node_schema
from oretrail.node_api import LOTS_QUERY
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR

REGISTRY = load_registry(CONFIG_DIR / "registry.toml")
ORGS = sorted(REGISTRY.participants)
# Organisations that run a node (the others only call).
NODES = sorted(path.stem for path in SEED_DIR.glob("*.toml"))
KEYS: dict[str, SigningKey] = {
    org: generate_signing_key(org_issuer(org), f"{org}-1") for org in ORGS
}
GATEWAY_SIGNING = generate_signing_key(GATEWAY, "gateway-1")
RING = KeyRing()
for _key in [GATEWAY_SIGNING, *KEYS.values()]:
    RING.add(_key.trusted())
SCHEMA = build_node_schema()


def context(org: str, caller: str, policy: Policy, purpose: str = "trace") -> NodeContext:
    roles = frozenset(REGISTRY.participants[caller].roles)
    principal = Principal(
        f"analyst@{caller}", caller, roles, purpose, "txn-1", "token", frozenset({org})
    )
    return NodeContext(
        store=MemoryGraphStore(load_seed(SEED_DIR / f"{org}.toml")),
        principal=principal,
        authority=NodeAuthority(org, KEYS[org], StaticKeys(RING)),
        policy=policy,
        log=AccessLog(),
    )


def asked(org: str) -> list[str]:
    """Every lot of ``org``, then one it does not hold, another's and a malformed id."""
    lots = sorted(lot.id for lot in load_seed(SEED_DIR / f"{org}.toml").lots)
    other = "urn:oretrail:lot:kasulo-coop:HG-2026-007" if org != "kasulo-coop" else lots[0]
    return [*lots, f"urn:oretrail:lot:{org}:NO-SUCH-LOT", other, "not-a-lot-id"]


async def grants_for(ctx: NodeContext, ids: list[str]) -> list[PresentedGrant]:
    """Grants opening ``ids``, signed by a consumer's node (another organisation)."""
    granter = next(o for o in ORGS if o not in (ctx.principal.org, ids[0].split(":")[3]))
    authority = NodeAuthority(granter, KEYS[granter], StaticKeys(RING))
    caller = Caller(ctx.principal.sub, ctx.principal.org, frozenset(), frozenset({"trace"}))
    parent = Delegation(GATEWAY_SIGNING, caller, "txn-1", "trace").token_for(granter)
    via = f"urn:oretrail:lot:{granter}:VIA-1"
    links = [(i, via) for i in ids if i.startswith("urn:oretrail:lot:") and i.count(":") == 4]
    continuations = authority.issue_grants(await authority.principal(parent), links)
    return [PresentedGrant(c.grant, parent) for c in continuations]


def without_grants(data: Any) -> Any:
    if data is None:
        return None
    for continuation in data["lots"]["continuations"]:
        assert continuation["grant"].count(".") == 2
        continuation["grant"] = "<grant>"
    return data


async def both(ctx: NodeContext, ids: list[str], grants: list[PresentedGrant]) -> tuple[Any, Any]:
    variables = {
        "ids": ids,
        "grants": [{"grant": g.grant, "parentToken": g.parent_token} for g in grants],
    }
    general = await SCHEMA.execute(LOTS_QUERY, variable_values=variables, context_value=ctx)
    direct = await execute_lots(ctx, LotsRequest(ids, grants))
    return (
        (without_grants(general.data), [e.formatted for e in general.errors or []]),
        (without_grants(direct.data), [e.formatted for e in direct.errors or []]),
    )


@pytest.mark.parametrize("org", NODES)
async def test_every_caller_gets_the_same_answer_either_way(org: str) -> None:
    policy = load_policy(CONFIG_DIR / "policies" / f"{org}.toml")
    statuses: set[str] = set()
    for caller in ORGS:
        ctx = context(org, caller, policy)
        general, direct = await both(ctx, asked(org), [])
        assert direct == general, f"{org} answering {caller}"
        statuses |= {a["status"] for a in general[0]["lots"]["answers"]}
    transparency = context(org, "nordvolt", policy, purpose="transparency:origins")
    general, direct = await both(transparency, asked(org), [])
    assert direct == general
    # Each node gives its own lots to itself (the auditor holds none) and refuses the
    # malformed id.
    assert {"NOT_FOUND", "INVALID_ID"} <= statuses
    assert ("FOUND" in statuses) == (len(asked(org)) > 3)


@pytest.mark.parametrize("org", NODES)
async def test_a_downstream_caller_with_grants_gets_the_same_answer_either_way(org: str) -> None:
    policy = load_policy(CONFIG_DIR / "policies" / f"{org}.toml")
    caller = next(o for o in ORGS if o != org)
    ctx = context(org, caller, policy)
    ids = asked(org)
    general, direct = await both(ctx, ids, await grants_for(ctx, ids))
    assert direct == general
    # The grants opened every lot of the node: none is refused for want of a chain.
    details = [a["detail"] or "" for a in general[0]["lots"]["answers"]]
    assert not any("no valid chain" in d or "grant refused" in d for d in details)


OPTIONAL_GROUPS = sorted(set(FIELD_GROUPS) - {"identity"})


async def test_every_combination_of_field_groups_renders_the_same_either_way() -> None:
    seen_errors: set[str] = set()
    for size in range(len(OPTIONAL_GROUPS) + 1):
        for extra in itertools.combinations(OPTIONAL_GROUPS, size):
            groups = frozenset({"identity", *extra})
            policy = Policy((Rule(Relation.SELF, groups),))
            ctx = context("copperbelt-trading", "copperbelt-trading", policy)
            general, direct = await both(ctx, asked("copperbelt-trading"), [])
            assert direct == general, sorted(groups)
            seen_errors |= {e["extensions"]["group"] for e in general[1]}
    # Every group but identity was withheld somewhere, and located errors were compared.
    assert seen_errors == {"origin", "facility", "quantities", "contents", "inputs"} | (
        {"suppliers", "certificates"}
    )


def gateway_variables() -> dict[str, Any]:
    return {"ids": ["urn:oretrail:lot:a:1"], "grants": [{"grant": "g", "parentToken": "t"}]}


def test_only_the_gateways_document_and_variables_take_the_direct_path() -> None:
    assert match_lots(LOTS_QUERY, "Lots", gateway_variables(), None) == LotsRequest(
        ["urn:oretrail:lot:a:1"], [PresentedGrant("g", "t")]
    )
    assert match_lots(LOTS_QUERY, None, {"ids": []}, {}) == LotsRequest([], [])
    assert match_lots(LOTS_QUERY, None, {"ids": [], "grants": None}, None) == LotsRequest([], [])
    too_many = {"ids": ["x"] * (MAX_IDS_PER_REQUEST + 1)}
    refused: list[tuple[str, str | None, object, object]] = [
        (LOTS_QUERY + " ", "Lots", gateway_variables(), None),
        (LOTS_QUERY, "Other", gateway_variables(), None),
        (LOTS_QUERY, "Lots", gateway_variables(), {"persistedQuery": {}}),
        (LOTS_QUERY, "Lots", {"ids": [1]}, None),
        (LOTS_QUERY, "Lots", {"ids": "x"}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "extra": 1}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": [{"grant": "g"}]}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": [{"grant": 1, "parentToken": "t"}]}, None),
        (LOTS_QUERY, "Lots", too_many, None),
        (LOTS_QUERY, "Lots", None, None),
        # Falsy but not null: the general executor refuses these as variables.
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": ""}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": {}}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": 0}, None),
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": False}, None),
    ]
    for query, name, variables, extensions in refused:
        assert match_lots(query, name, variables, extensions) is None, variables
