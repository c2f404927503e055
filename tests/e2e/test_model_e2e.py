"""The gateway's supply-chain model over real HTTP, on the embedded store and on Neo4j."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oretrail.bootstrap import Federation
from tests.conftest import PACK, graphql, oem_token
from tests.contract.test_graph_store import TRICKY

pytestmark = pytest.mark.e2e

LOT = "urn:oretrail:lot:"
KASULO_SITE = "urn:oretrail:facility:kasulo-coop:kasulo-site"


async def ask(federation: Federation, query: str, **variables: Any) -> Any:
    body = await graphql(federation.gateway_url, query, variables, token=oem_token(federation))
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def traced(any_federation: Federation) -> tuple[Federation, str]:
    """The sample pack traced once (on a loop of its own), and the id its record got."""
    query = "query($lot: ID!) { trace(lot: $lot) { recordId } }"
    data = asyncio.run(ask(any_federation, query, lot=PACK))
    return any_federation, data["trace"]["recordId"]


async def test_a_trace_is_recorded_in_the_history(traced: tuple[Federation, str]) -> None:
    federation, record_id = traced
    data = await ask(
        federation,
        "query($lot: ID) { traceHistory(lot: $lot) { id root tracedBy "
        "origins gaps coverage { element coverage } } }",
        lot=PACK,
    )
    record = next(r for r in data["traceHistory"] if r["id"] == record_id)
    assert record["root"] == PACK
    assert record["tracedBy"] == "nordvolt"
    assert record["gaps"] == 1  # Coastal Lithium claims more Li than its inputs supply
    assert len(record["origins"]) == 7
    # Li: 40.5 t x 2.79 % = 1,129.95 kg supplied of the 10 t x 16.5 % = 1,650 kg claimed.
    assert {c["element"]: c["coverage"] for c in record["coverage"]} == pytest.approx(
        {"C": 1.0, "Co": 1.0, "Li": 1129.95 / 1650, "Ni": 1.0}
    )


async def test_the_supply_network_knows_who_supplies_cobalt_sulfate(
    traced: tuple[Federation, str],
) -> None:
    federation, _ = traced
    data = await ask(
        federation,
        "query($m: String) { supplyNetwork(material: $m) { supplier customer material } }",
        m="cobalt sulfate",
    )
    assert data["supplyNetwork"] == [
        {"supplier": "boreal-cobalt", "customer": "helios-cathode", "material": "cobalt sulfate"}
    ]
    everything = await ask(federation, "{ supplyNetwork { supplier customer } }")
    pairs = {(x["supplier"], x["customer"]) for x in everything["supplyNetwork"]}
    # 17 cross-organisation links in the sample; the recycler's internal ones do not count.
    assert ("kasulo-coop", "copperbelt-trading") in pairs
    assert ("circulo-recycling", "helios-cathode") in pairs
    assert ("circulo-recycling", "circulo-recycling") not in pairs


async def test_exposed_products_from_the_artisanal_site_and_from_a_lot(
    traced: tuple[Federation, str],
) -> None:
    federation, _ = traced
    by_site = await ask(
        federation, "query($f: ID) { exposedProducts(facility: $f) }", f=KASULO_SITE
    )
    assert by_site["exposedProducts"] == [PACK]
    by_lot = await ask(
        federation,
        "query($l: ID) { exposedProducts(lot: $l) }",
        l=f"{LOT}yilgarn-lithium:SC6-2026-088",
    )
    assert by_lot["exposedProducts"] == [PACK]
    unused = await ask(
        federation,
        "query($l: ID) { exposedProducts(lot: $l) }",
        l=f"{LOT}yilgarn-lithium:NEVER-TRACED",
    )
    assert unused["exposedProducts"] == []


async def test_the_sample_has_no_over_allocated_lot(traced: tuple[Federation, str]) -> None:
    federation, _ = traced
    data = await ask(federation, "{ overAllocations { lot } }")
    assert data["overAllocations"] == []


async def test_hostile_strings_pass_through_as_data(traced: tuple[Federation, str]) -> None:
    federation, record_id = traced
    for query in (
        "query($s: String) { supplyNetwork(material: $s) { supplier } }",
        "query($s: ID) { exposedProducts(lot: $s) }",
        "query($s: ID) { exposedProducts(facility: $s) }",
    ):
        data = await ask(federation, query, s=TRICKY)
        assert next(iter(data.values())) == []
    # Nothing was deleted by the text that looks like Cypher.
    history = await ask(federation, "{ traceHistory { id } }")
    assert record_id in {r["id"] for r in history["traceHistory"]}


async def test_bad_model_arguments_are_typed_errors(traced: tuple[Federation, str]) -> None:
    federation, _ = traced
    for query, message in [
        ("{ traceHistory(limit: 0) { id } }", "limit 0 must be between 1 and 1000"),
        ("{ traceHistory(limit: 1000001) { id } }", "limit 1000001 must be between"),
        ("{ exposedProducts }", "exactly one of lot or facility"),
        ("{ overAllocations(tolerance: -1) { lot } }", "tolerance -1.0 must be between 0 and 1"),
    ]:
        body = await graphql(federation.gateway_url, query, token=oem_token(federation))
        assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT"}, body
        assert message in body["errors"][0]["message"]


async def test_a_competitor_reads_nothing_of_another_organisations_trace(
    traced: tuple[Federation, str],
) -> None:
    federation, record_id = traced
    # aurora-cells is a registered member (it even made the pack's cells), not nordvolt.
    rival = federation.user("aurora-cells")
    query = (
        "query($lot: ID, $site: ID) { traceHistory(limit: 1000) { id } "
        "supplyNetwork { supplier customer material } "
        "overAllocations(tolerance: 0) { lot owner quantityKg allocatedKg outputs } "
        "byLot: exposedProducts(lot: $lot) bySite: exposedProducts(facility: $site) }"
    )
    variables = {"lot": f"{LOT}yilgarn-lithium:SC6-2026-088", "site": KASULO_SITE}
    body = await graphql(federation.gateway_url, query, variables, token=rival)
    assert "errors" not in body, body
    assert body["data"] == {
        "traceHistory": [],
        "supplyNetwork": [],
        "overAllocations": [],
        "byLot": [],
        "bySite": [],
    }
    # nordvolt, whose trace it is, reads all of it.
    mine = await ask(federation, query, **variables)
    assert record_id in {r["id"] for r in mine["traceHistory"]}
    assert ("aurora-cells", "nordvolt") in {
        (x["supplier"], x["customer"]) for x in mine["supplyNetwork"]
    }
    assert mine["byLot"] == mine["bySite"] == [PACK]
