"""The node schema executed in-process over the embedded store."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry

from oretrail.node.schema import MAX_IDS_PER_REQUEST, NodeContext, build_node_schema
from oretrail.store.memory import MemoryGraphStore
from oretrail.store.seed import load_seed
from tests.conftest import SEED_DIR

TRADER_LOT = "urn:oretrail:lot:copperbelt-trading:CH-2026-014"


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_node_schema()


async def run(schema: strawberry.Schema, org: str, query: str, **variables: Any) -> Any:
    store = MemoryGraphStore(load_seed(SEED_DIR / f"{org}.toml"))
    return await schema.execute(
        query, variable_values=variables, context_value=NodeContext(store=store)
    )


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
        "query($ids: [ID!]!) { lots(ids: $ids) { id status detail "
        "lot { material custody inputs { lot owner quantity { value unit } } } } }",
        ids=ids,
    )
    assert result.errors is None
    answers = result.data["lots"]
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
        '{ lots(ids: ["urn:oretrail:lot:nordic-nickel:NS-2026-310"]) { lot { '
        "facility { name country certificates { id standard validTo } } } } }",
    )
    facility = result.data["lots"][0]["lot"]["facility"]
    assert facility["country"] == "FI"
    assert facility["certificates"] == [
        {"id": "RMAP-2022-NNR-112", "standard": "RMAP", "validTo": "2025-06-30"}
    ]


async def test_too_many_ids_in_one_request_are_refused(schema: strawberry.Schema) -> None:
    ids = [f"urn:oretrail:lot:nordvolt:X{i}" for i in range(MAX_IDS_PER_REQUEST + 1)]
    result = await run(
        schema, "nordvolt", "query($ids: [ID!]!) { lots(ids: $ids) { id } }", ids=ids
    )
    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "BAD_INPUT"}
    assert f"at most {MAX_IDS_PER_REQUEST}" in result.errors[0].message


async def test_outputs_name_our_consumers_and_our_customers(schema: strawberry.Schema) -> None:
    query = (
        "query($ids: [ID!]!) { outputs(ids: $ids) { id consumers { lot } shippedTo { to date } } }"
    )
    at_owner = await run(schema, "copperbelt-trading", query, ids=[TRADER_LOT])
    at_customer = await run(schema, "boreal-cobalt", query, ids=[TRADER_LOT])
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
    result = await run(
        schema,
        "kasulo-coop",
        "{ organisation { id roles country facilities { region artisanal cahra } } }",
    )
    assert result.data["organisation"] == {
        "id": "kasulo-coop",
        "roles": ["MINE"],
        "country": "CD",
        "facilities": [{"region": "Lualaba", "artisanal": True, "cahra": True}],
    }
