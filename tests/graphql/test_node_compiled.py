"""The node's direct answer to the gateway's lots document equals the general executor's.

Both renderings run over the same decisions, for every node of the sample pack, every
registered caller, with and without continuation grants, and for every combination
of field groups a policy can give; data and errors (paths, locations, codes) must be
identical. Grant strings differ between runs (fresh ``jti``) and are compared apart.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from oretrail.auth.grants import InputLink
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.policy import FIELD_GROUPS, Policy, Relation, Rule, load_policy
from oretrail.auth.principal import NodeAuthority, Principal
from oretrail.auth.requests import RequestContext, SignedRequest
from oretrail.config import load_registry
from oretrail.node.compiled import LotsRequest, execute_lots, match_lots
from oretrail.node.evidence import RequestEntry
from oretrail.node.lots import MAX_IDS_PER_REQUEST, NodeContext
from oretrail.node.schema import build_node_schema
from oretrail.node_api import LOTS_QUERY
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR

REGISTRY = load_registry(CONFIG_DIR / "registry.toml")
ORGS = sorted(REGISTRY.participants)
# Organisations that run a node (the others only call).
NODES = sorted(path.stem for path in SEED_DIR.glob("*.toml"))
KEYS = FederationKeys.generate(ORGS)
ROLES = {org: [str(r) for r in p.roles] for org, p in REGISTRY.participants.items()}
SCHEMA = build_node_schema()
FAR = date(2099, 1, 1)


def request(caller: str, roots: list[str], op: str = "trace") -> SignedRequest:
    """A caller's request as a node sees it once verified (the signature is not at issue)."""
    context = RequestContext(op=op, roots=tuple(roots), depth=20, doc="d", vars="v")
    return SignedRequest(
        "t", "c", "h" * 43, caller, f"analyst@{caller}", "txn-1", "j", 2**40, context
    )


def context(org: str, caller: str, policy: Policy, op: str = "trace") -> NodeContext:
    roles = frozenset(str(r) for r in REGISTRY.participants[caller].roles)
    ids = asked(org)
    principal = Principal(request(caller, ids, op), roles, frozenset(ids))
    return NodeContext(
        store=MemoryGraphStore(load_seed(SEED_DIR / f"{org}.toml")),
        principal=principal,
        authority=NodeAuthority(org, KEYS.member(org).node_key, KEYS.pinned(ROLES)),
        policy=policy,
        entry=RequestEntry(),
    )


def asked(org: str) -> list[str]:
    """Every lot of ``org``, then one it does not hold, another's and a malformed id."""
    lots = sorted(lot.id for lot in load_seed(SEED_DIR / f"{org}.toml").lots)
    other = "urn:oretrail:lot:kasulo-coop:HG-2026-007" if org != "kasulo-coop" else lots[0]
    return [*lots, f"urn:oretrail:lot:{org}:NO-SUCH-LOT", other, "not-a-lot-id"]


def customer_of(org: str) -> str | None:
    """An organisation ``org`` shipped lots to, if any."""
    shipments = load_seed(SEED_DIR / f"{org}.toml").shipments
    return next((s.to_org for s in shipments if s.to_org != org), None)


def grants_for(ctx: NodeContext, granter: str, ids: list[str]) -> list[str]:
    """Grants opening ``ids``, signed by ``granter``'s node from a root lot of its own."""
    via = f"urn:oretrail:lot:{granter}:VIA-1"
    issuer = NodeAuthority(granter, KEYS.member(granter).node_key, KEYS.pinned(ROLES)).issuer
    links = [
        InputLink(via, FAR, 0, None, i, 1.0)
        for i in ids
        if i.startswith("urn:oretrail:lot:") and i.count(":") == 4
    ]
    return [c.grant for c in issuer.issue(ctx.principal.request, links)]


def without_grants(data: Any) -> Any:
    if data is None:
        return None
    for continuation in data["lots"]["continuations"]:
        assert continuation["grant"].count(".") == 2
        continuation["grant"] = "<grant>"
    return data


async def both(ctx: NodeContext, ids: list[str], grants: list[str]) -> tuple[Any, Any]:
    variables = {"ids": ids, "grants": grants}
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
    transparency = context(org, "nordvolt", policy, op="transparency")
    general, direct = await both(transparency, asked(org), [])
    assert direct == general
    # Each node gives its own lots to itself (the auditor holds none) and refuses the
    # malformed id.
    assert {"NOT_FOUND", "INVALID_ID"} <= statuses
    assert ("FOUND" in statuses) == (len(asked(org)) > 3)


@pytest.mark.parametrize("org", NODES)
async def test_a_downstream_caller_with_grants_gets_the_same_answer_either_way(org: str) -> None:
    policy = load_policy(CONFIG_DIR / "policies" / f"{org}.toml")
    granter = customer_of(org) or next(o for o in ORGS if o != org)
    caller = next(o for o in ORGS if o not in (org, granter))
    ctx = context(org, caller, policy)
    ids = asked(org)
    # The granter's own lot is the request's root; ours are reached through its grants.
    root = f"urn:oretrail:lot:{granter}:VIA-1"
    ctx.principal = Principal(request(caller, [root]), ctx.principal.roles, frozenset({root}))
    general, direct = await both(ctx, ids, grants_for(ctx, granter, ids))
    assert direct == general
    # Lots shipped to the granter were opened by the chain (identity given downstream).
    if customer_of(org) is not None:
        opened = [lot for lot in ctx.entry.lots if "downstream" in lot["relations"]]
        assert opened, f"{org}: no lot opened through the granter's chain"


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
        {"suppliers", "certificates", "emissions"}
    )


def gateway_variables() -> dict[str, Any]:
    return {"ids": ["urn:oretrail:lot:a:1"], "grants": ["g"]}


def test_only_the_gateways_document_and_variables_take_the_direct_path() -> None:
    assert match_lots(LOTS_QUERY, "Lots", gateway_variables(), None) == LotsRequest(
        ["urn:oretrail:lot:a:1"], ["g"]
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
        (LOTS_QUERY, "Lots", {"ids": ["x"], "grants": [1]}, None),
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
