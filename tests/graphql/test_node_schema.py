"""The node schema executed in-process over the embedded store."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.policy import load_policy
from oretrail.auth.principal import NodeAuthority, Principal
from oretrail.node.evidence import RequestEntry
from oretrail.node.lots import MAX_GRANTS_PER_REQUEST, MAX_IDS_PER_REQUEST, UNJUSTIFIED, NodeContext
from oretrail.node.schema import build_node_schema
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.seed import load_seed
from tests.conftest import CONFIG_DIR, SEED_DIR
from tests.graphql.test_node_compiled import ROLES, request

TRADER_LOT = "urn:oretrail:lot:copperbelt-trading:CH-2026-014"


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_node_schema()


KEYS = FederationKeys.generate(ROLES)


async def run(  # noqa: PLR0917 - the test's own shorthand
    schema: strawberry.Schema,
    org: str,
    query: str,
    caller: str | None = None,
    roles: frozenset[str] = frozenset(),
    op: str = "trace",
    roots: tuple[str, ...] = (),
    **variables: Any,
) -> Any:
    """Execute as a caller of ``caller`` (the node's own organisation by default), whose
    signed request names ``roots`` (default: the ids asked) for operation ``op``."""
    store = MemoryGraphStore(load_seed(SEED_DIR / f"{org}.toml"))
    authority = NodeAuthority(org, KEYS.member(org).node_key, KEYS.pinned(ROLES))
    named = list(roots or variables.get("ids", []))
    context = NodeContext(
        store=store,
        principal=Principal(request(caller or org, named, op), roles, frozenset(named)),
        authority=authority,
        policy=load_policy(CONFIG_DIR / "policies" / f"{org}.toml"),
        entry=RequestEntry(),
    )
    result = await schema.execute(query, variable_values=variables, context_value=context)
    result.entry = context.entry  # type: ignore[attr-defined]
    return result


async def test_lots_answers_every_id_in_order_with_a_typed_status(
    schema: strawberry.Schema,
) -> None:
    ids = [
        TRADER_LOT,
        "urn:oretrail:lot:copperbelt-trading:NOPE",
        "not-an-id",
        "urn:oretrail:lot:boreal-cobalt:CS-2026-102",
    ]
    result = await run(
        schema,
        "copperbelt-trading",
        "query($ids: [ID!]!) { lots(ids: $ids) { answers { id status detail "
        "lot { material custody inputs { lot owner quantity { value unit } } } } } }",
        ids=ids,
    )
    assert result.errors is None
    answers = result.data["lots"]["answers"]
    assert [a["id"] for a in answers] == ids
    assert [a["status"] for a in answers] == ["FOUND", "NOT_FOUND", "INVALID_ID", "NOT_FOUND"]
    assert "belongs to 'boreal-cobalt'" in answers[3]["detail"]
    lot = answers[0]["lot"]
    assert lot["custody"] == "CONTROLLED_BLENDING"
    assert lot["inputs"] == [
        {
            "lot": "urn:oretrail:lot:kambove-mining:MH-2026-031",
            "owner": "kambove-mining",
            "quantity": {"value": 7.0, "unit": "t"},
        },
        {
            "lot": "urn:oretrail:lot:kasulo-coop:HG-2026-007",
            "owner": "kasulo-coop",
            "quantity": {"value": 4.0, "unit": "t"},
        },
    ]


async def test_a_lot_carries_its_facility_and_certificates(schema: strawberry.Schema) -> None:
    result = await run(
        schema,
        "nordic-nickel",
        '{ lots(ids: ["urn:oretrail:lot:nordic-nickel:NS-2026-310"]) { answers { lot { '
        "facility { name country certificates { id standard validTo } } } } } }",
        roots=("urn:oretrail:lot:nordic-nickel:NS-2026-310",),
    )
    facility = result.data["lots"]["answers"][0]["lot"]["facility"]
    assert facility["country"] == "FI"
    assert facility["certificates"] == [
        {"id": "RMAP-2022-NNR-112", "standard": "RMAP", "validTo": "2025-06-30"}
    ]


async def test_too_many_ids_in_one_request_are_refused(schema: strawberry.Schema) -> None:
    ids = [f"urn:oretrail:lot:nordvolt:X{i}" for i in range(MAX_IDS_PER_REQUEST + 1)]
    result = await run(
        schema, "nordvolt", "query($ids: [ID!]!) { lots(ids: $ids) { answers { id } } }", ids=ids
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "BAD_INPUT"}
    assert f"at most {MAX_IDS_PER_REQUEST}" in result.errors[0].message


async def test_too_many_grants_in_one_request_are_refused(schema: strawberry.Schema) -> None:
    grants = [f"g{i}" for i in range(MAX_GRANTS_PER_REQUEST + 1)]
    result = await run(
        schema,
        "nordvolt",
        "query($ids: [ID!]!, $grants: [String!]) "
        "{ lots(ids: $ids, grants: $grants) { answers { id } } }",
        ids=[TRADER_LOT],
        grants=grants,
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "BAD_INPUT"}
    assert f"at most {MAX_GRANTS_PER_REQUEST}" in result.errors[0].message


async def test_outputs_name_our_consumers_and_our_customers(schema: strawberry.Schema) -> None:
    query = (
        "query($ids: [ID!]!) { outputs(ids: $ids) { id consumers { lot } shippedTo { to date } } }"
    )
    at_owner = await run(schema, "copperbelt-trading", query, op="exposure", ids=[TRADER_LOT])
    # The trader asks its customer's node where its lot went.
    at_customer = await run(
        schema, "boreal-cobalt", query, "copperbelt-trading", op="exposure", ids=[TRADER_LOT]
    )
    assert at_owner.data["outputs"] == [
        {
            "id": TRADER_LOT,
            "consumers": [],
            "shippedTo": [{"to": "boreal-cobalt", "date": "2026-02-10"}],
        }
    ]
    assert at_customer.data["outputs"][0]["consumers"] == [
        {"lot": "urn:oretrail:lot:boreal-cobalt:CS-2026-102"}
    ]


async def test_the_node_describes_itself(schema: strawberry.Schema) -> None:
    result = await run(schema, "kasulo-coop", "{ organisation { id roles country } }")
    assert result.data["organisation"] == {"id": "kasulo-coop", "roles": ["MINE"], "country": "CD"}


async def test_a_caller_with_no_relation_and_no_grant_gets_nothing(
    schema: strawberry.Schema,
) -> None:
    result = await run(
        schema,
        "copperbelt-trading",
        "query($ids: [ID!]!) { lots(ids: $ids) { answers { status detail lot { id } } } }",
        caller="rivalauto",
        ids=[TRADER_LOT],
    )
    assert result.data["lots"]["answers"] == [
        {
            "status": "WITHHELD",
            "lot": None,
            "detail": UNJUSTIFIED,
        }
    ]
    # The request's one log entry (written by the HTTP edge once rendered: node.evidence).
    assert result.entry.queries == ["lots"]
    [lot] = result.entry.lots
    assert lot["status"] == "WITHHELD"
    assert lot["given"] == []


async def test_the_customer_sees_what_its_rule_grants_and_no_more(
    schema: strawberry.Schema,
) -> None:
    # boreal-cobalt bought the trader's lot: the customer rule shows it, with a grant for
    # each input's owner (the mine and the cooperative).
    result = await run(
        schema,
        "copperbelt-trading",
        "query($ids: [ID!]!) { lots(ids: $ids) { answers { status lot { material "
        "carbonFootprint inputs { lot } } } continuations { owner lots grant } } }",
        caller="boreal-cobalt",
        ids=[TRADER_LOT],
    )
    assert result.errors is None
    lot = result.data["lots"]["answers"][0]["lot"]
    assert lot["material"] == "cobalt hydroxide"
    continuations = result.data["lots"]["continuations"]
    assert [(c["owner"], c["lots"]) for c in continuations] == [
        ("kambove-mining", ["urn:oretrail:lot:kambove-mining:MH-2026-031"]),
        ("kasulo-coop", ["urn:oretrail:lot:kasulo-coop:HG-2026-007"]),
    ]
    assert all(c["grant"].count(".") == 2 for c in continuations)


async def test_a_withheld_field_is_null_with_a_typed_error(schema: strawberry.Schema) -> None:
    # Huaxi's customer (terra-anode) is not granted contents by Huaxi's policy.
    lot_id = "urn:oretrail:lot:huaxi-graphite:SG-2026-077"
    result = await run(
        schema,
        "huaxi-graphite",
        "query($ids: [ID!]!) { lots(ids: $ids) { answers { lot { material "
        "contents { element } } } } }",
        caller="terra-anode",
        ids=[lot_id],
    )
    assert result.data["lots"]["answers"][0]["lot"] == {
        "material": "spherical graphite (purified)",
        "contents": None,
    }
    [error] = result.errors
    assert error.extensions == {"code": "WITHHELD", "group": "contents"}
    assert error.path == ["lots", "answers", 0, "lot", "contents"]


async def test_outputs_are_shown_to_the_owner_only(schema: strawberry.Schema) -> None:
    query = "query($ids: [ID!]!) { outputs(ids: $ids) { id } }"
    mine = await run(schema, "copperbelt-trading", query, op="exposure", ids=[TRADER_LOT])
    assert mine.data["outputs"] == [{"id": TRADER_LOT}]
    theirs = await run(
        schema, "copperbelt-trading", query, caller="nordvolt", op="exposure", ids=[TRADER_LOT]
    )
    assert theirs.data["outputs"] is None
    assert theirs.errors[0].extensions == {"code": "WITHHELD", "group": "outputs"}


async def test_a_trace_request_cannot_call_outputs(schema: strawberry.Schema) -> None:
    query = "query($ids: [ID!]!) { outputs(ids: $ids) { id } }"
    result = await run(schema, "copperbelt-trading", query, op="trace", ids=[TRADER_LOT])
    assert result.data["outputs"] is None
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}
    assert "exposure requests, not 'trace'" in result.errors[0].message


async def test_an_exposure_request_cannot_call_lots(schema: strawberry.Schema) -> None:
    query = "query($ids: [ID!]!) { lots(ids: $ids) { answers { id } } }"
    result = await run(schema, "copperbelt-trading", query, op="exposure", ids=[TRADER_LOT])
    assert result.data is None
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}


async def test_customers_are_not_revealed_unless_the_policy_gives_them(
    schema: strawberry.Schema,
) -> None:
    """boreal-cobalt's policy gives its customer no 'customers' group: the trader learns
    which of boreal's lots consumed its lot, never whom boreal sold them to."""
    query = "query($ids: [ID!]!) { outputs(ids: $ids) { consumers { lot } shippedTo { to } } }"
    asked_lot = "urn:oretrail:lot:kambove-mining:MH-2026-031"
    # kambove-mining asks the trader's node where its hydroxide went.
    result = await run(
        schema, "copperbelt-trading", query, "kambove-mining", op="exposure", ids=[asked_lot]
    )
    assert result.errors is None
    [answer] = result.data["outputs"]
    assert answer["consumers"] == [{"lot": TRADER_LOT}]
    assert answer["shippedTo"] == []


async def test_outputs_of_a_lot_that_is_not_a_root_are_refused(schema: strawberry.Schema) -> None:
    query = "query($ids: [ID!]!) { outputs(ids: $ids) { id } }"
    result = await run(
        schema,
        "copperbelt-trading",
        query,
        op="exposure",
        roots=("urn:oretrail:lot:copperbelt-trading:OTHER",),
        ids=[TRADER_LOT],
    )
    assert result.data["outputs"] is None
    assert result.errors[0].extensions == {"code": "WITHHELD", "group": "outputs"}
