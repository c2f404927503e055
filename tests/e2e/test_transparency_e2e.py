"""Approved transparency queries over real HTTP: trusted documents, the published figures
(hand-computed), suppression across queries, one kept answer per period, the logs."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from graphql import GraphQLObjectType, build_schema

from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import Federation, FederationConfig, approve_as_members, gateway_app
from oretrail.domain.transparency import last_closed_period
from oretrail.errors import ConfigError
from oretrail.gateway.schema import build_gateway_schema
from tests.conftest import served_federation
from tests.support.transparency import (
    ALL_RUNS,
    LINE,
    declared_fields,
    fresh_model,
    log_entries,
    ngo,
    post,
    run,
    shares,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # A model store of its own: answers kept by other modules' runs are not returned.
    config = fresh_model(sample_config, tmp_path_factory.mktemp("transparency-model"))
    with served_federation(config) as running:
        yield running


# Hand-computed figures of the sample's product line (docs/sample-data.md, "The
# product line"). Cobalt: PACK-2026-0412 holds 22.5 t x 1.098 % = 247.05 kg, and
# PACK-2026-0413 22.5 t x 1.2 % = 270 kg; each pack weighs by its cobalt mass.
CO_1, CO_2 = 247.05, 270.0
W1, W2 = CO_1 / (CO_1 + CO_2), CO_2 / (CO_1 + CO_2)
# Pack 1: 2.4 t primary and 0.5 t recycled sulfate at 21 % Co in the cathode. The
# primary came through Copperbelt's hydroxide: Kambove 7 t x 32 % = 2.24 t Co,
# Kasulo (ASM) 4 t x 19 % = 0.76 t of 3.00 t. The recycled came from black mass,
# both at 8 % Co: Circulo 3 t, Nordic Battery Collection 2.25 t of 5.25 t.
KAMBOVE = W1 * 2.4 / 2.9 * 2.24 / 3.00
KASULO_1 = W1 * 2.4 / 2.9 * 0.76 / 3.00
CIRCULO = W1 * 0.5 / 2.9 * 3 / 5.25
NBC = W1 * 0.5 / 2.9 * 2.25 / 5.25
# Pack 2: 2 t primary sulfate (420 kg Co) and 1 t Rhein's recycled (210 kg) of
# 630 kg. The primary came through Copperbelt's blend of three ASM cooperatives
# (Tshala 4 t x 20 % = 800 kg, Kando 5 t x 16 % = 800 kg, Mutoshi 3 t x 20 % =
# 600 kg) and two industrial mines (Lufira 4 t x 20 % = 800 kg, Musonoi 4 t x 15 %
# = 600 kg): 3,600 kg.
TSHALA = W2 * 420 / 630 * 800 / 3600
KANDO = W2 * 420 / 630 * 800 / 3600
MUTOSHI = W2 * 420 / 630 * 600 / 3600
LUFIRA = W2 * 420 / 630 * 800 / 3600
MUSONOI = W2 * 420 / 630 * 600 / 3600
RHEIN = W2 * 210 / 630
# Groups, and why each is published or not (k = 3, dominance 80 %):
# CD = the five mines and cooperatives; the largest, Kambove, 0.2953 of 0.7436.
CD = KAMBOVE + KASULO_1 + TSHALA + KANDO + MUTOSHI + LUFIRA + MUSONOI
# NO = Circulo + NBC: 2 organisations. DE = Rhein: 1. Both suppressed; together
#   they are 3 organisations, the largest, Rhein, 0.1741 of 0.2564 = 67.9 %: their
#   sum (1 - CD) may be known, so CD may still be published.
NO = CIRCULO + NBC
DE = RHEIN
# ASM = Kasulo + Tshala + Kando + Mutoshi, the largest Kasulo 0.1002 of 0.3129 = 32.0 %.
# NOT_ASM = Kambove + Lufira + Musonoi + Circulo + NBC + Rhein.
ASM = KASULO_1 + TSHALA + KANDO + MUTOSHI
NOT_ASM = KAMBOVE + LUFIRA + MUSONOI + CIRCULO + NBC + RHEIN
# CD - ASM (= NOT_ASM - POST_CONSUMER, below) is the industrial mines' cobalt:
# Kambove + Lufira + Musonoi, the largest Kambove 0.2953 of 0.4306 = 68.6 %: a
# sum within anyone's reach that passes both rules, so all four groupings' figures
# can stand together.
INDUSTRIAL = KAMBOVE + LUFIRA + MUSONOI
# Recycled cobalt: every black mass is post-consumer; POST_CONSUMER = Circulo + NBC
# + Rhein (as NO + DE), PRIMARY = CD.
POST_CONSUMER = CIRCULO + NBC + RHEIN
# Audited throughput: processors weigh by the element mass of the packs through
# them. Pack 1 (22.5 t: Co 247.05, Ni 1,923.75, Li 287.55, C 2,166.75 kg). Audited:
# Boreal (Co x 2.4/2.9), Kambove's hydroxide plant (Co x 2.4/2.9 x 2.24/3.00),
# Sulawesi's HPAL (Ni x 18/21.6), Coastal (all the Li). Not audited: Circulo's
# recycled sulfates (Co x 0.5/2.9, Ni x 3.6/21.6) and black mass (Co x 0.5/2.9 x
# 3/5.25 + Ni x 3.6/21.6), Nordic Nickel (Ni x 18/21.6, expired), Huaxi (all the C).
# Pack 2 (Co 270 kg only): Boreal (270 x 2/3 = 180), Rhein's sulfate and its black
# mass (90 each), all audited.
_CO, _NI, _LI, _C = 247.05, 1923.75, 287.55, 2166.75
AUDITED_KG = _CO * 2.4 / 2.9 + _CO * 2.4 / 2.9 * 2.24 / 3.00 + _NI * 18 / 21.6 + _LI + 180 + 90 + 90
NOT_AUDITED_KG = (
    _CO * 0.5 / 2.9
    + _NI * 3.6 / 21.6
    + _CO * 0.5 / 2.9 * 3 / 5.25
    + _NI * 3.6 / 21.6
    + _NI * 18 / 21.6
    + _C
)
# AUDITED: Boreal, Kambove, Sulawesi, Coastal, Rhein; the largest, Sulawesi's
# 1,603.1 of 2,607.8 kg = 61.5 %. NOT_AUDITED: Circulo, Nordic Nickel, Huaxi; the
# largest, Huaxi's 2,166.75 of 4,478.1 kg = 48.4 %.
AUDITED = AUDITED_KG / (AUDITED_KG + NOT_AUDITED_KG)
# Hidden groups that no published figure may give away: NO and DE by country;
# nickel (Circulo post-consumer 3.6/21.6, Sulawesi primary 18/21.6: one each) and
# lithium (Yilgarn alone, 1,129.95 of 1,650 kg in the converter) by recycled content.
HIDDEN = {
    "NO": NO,
    "DE": DE,
    "Ni POST_CONSUMER": 3.6 / 21.6,
    "Ni PRIMARY": 18 / 21.6,
    "Li PRIMARY": 1129.95 / 1650,
    "Kasulo's cobalt": KASULO_1,
    "Kambove's cobalt": KAMBOVE,
    "Lufira and Musonoi's cobalt": LUFIRA + MUSONOI,
    "Kambove and Lufira's cobalt": KAMBOVE + LUFIRA,
    "Rhein's cobalt": RHEIN,
    "Circulo's cobalt": CIRCULO,
}


async def test_each_approved_query_publishes_its_hand_computed_figures(
    federation: Federation,
) -> None:
    assert shares(await run(federation, "cobalt-origin-countries")) == pytest.approx({"CD": CD})
    assert shares(await run(federation, "artisanal-share")) == pytest.approx(
        {"ASM": ASM, "NOT_ASM": NOT_ASM}
    )
    assert pytest.approx(0.3129, abs=1e-4) == ASM  # the arithmetic above, rounded
    assert pytest.approx(0.4306, abs=1e-4) == INDUSTRIAL
    assert shares(await run(federation, "refiner-audit-coverage")) == pytest.approx(
        {"AUDITED": AUDITED, "NOT_AUDITED": 1 - AUDITED}
    )
    assert shares(await run(federation, "recycled-content", element="Co")) == pytest.approx(
        {"POST_CONSUMER": POST_CONSUMER, "PRIMARY": CD}
    )


async def test_groups_too_small_or_dominated_are_suppressed_with_their_complement(
    federation: Federation,
) -> None:
    # Norway (two recyclers) and Germany (one) are not published, by country.
    assert set(shares(await run(federation, "cobalt-origin-countries"))) == {"CD"}
    # Nickel: one recycler and one HPAL producer, each alone in its group; lithium:
    # one mine. Nothing can be published for either.
    assert (await run(federation, "recycled-content", element="Ni"))["groups"] == []
    assert (await run(federation, "recycled-content", element="Li"))["groups"] == []


async def test_an_answer_carries_no_counts_and_names_its_period(federation: Federation) -> None:
    period = last_closed_period(datetime.now(UTC))
    for query_id, extra in ALL_RUNS:
        answer = await run(federation, query_id, **extra)
        assert set(answer) == {"period", "k", "dominance", "answeredAt", "groups"}
        assert all(set(g) == {"name", "share"} for g in answer["groups"])
        assert answer["period"] == {"start": str(period.start), "end": str(period.end)}
        assert (answer["k"], answer["dominance"]) == (3, 0.8)
    # Nor could an approved document ask for one: the types have no such field.
    types = build_schema(str(build_gateway_schema())).type_map
    fields = {
        name: set(cast("GraphQLObjectType", types[name]).fields)
        for name in ("TransparencyAnswer", "PublishedGroup", "ReportingPeriod")
    }
    assert fields == {
        "TransparencyAnswer": {"period", "k", "dominance", "answeredAt", "groups"},
        "PublishedGroup": {"name", "share"},
        "ReportingPeriod": {"start", "end"},
    }


async def test_no_combination_of_published_figures_recovers_a_hidden_group(
    federation: Federation,
) -> None:
    published = []
    for query_id, extra in ALL_RUNS:
        published += [g["share"] for g in (await run(federation, query_id, **extra))["groups"]]
    candidates = sorted({0.0, 1.0, *published})
    for (name, hidden), a, b, c in itertools.product(
        HIDDEN.items(), candidates, candidates, candidates
    ):
        for value in (a - b, a + b, 1 - a - b, a - b - c, a + b - c):
            assert abs(value - hidden) > 1e-6, (name, a, b, c)


async def test_a_second_run_in_the_period_returns_the_kept_answer_without_asking_nodes(
    federation: Federation,
) -> None:
    first = await run(federation, "artisanal-share")
    asked = {org: len(log_entries(log)) for org, log in federation.node_logs.items()}
    again = await run(federation, "artisanal-share")
    assert again == first  # answeredAt included: the very answer kept
    assert {org: len(log_entries(log)) for org, log in federation.node_logs.items()} == asked


async def test_each_node_logs_the_purpose_and_only_the_declared_fields(
    federation: Federation,
) -> None:
    await run(federation, "recycled-content", element="Li")  # a first run for this period
    declared = declared_fields()
    answered = set()
    for org, log in federation.node_logs.items():
        for entry in log_entries(log):
            if entry["org"] != "transparency-watch" or entry["query"] != "lots":
                continue
            answered.add(org)
            query_id = entry["purpose"].removeprefix("transparency:")
            for lot in entry["lots"]:
                assert set(lot["given"]) <= declared[query_id], (org, query_id, lot)
                assert not {"facility", "suppliers", "customers"} & set(lot["given"])
    # Every organisation with lots on either pack's chain: the 16 of the first, and
    # Tshala, Kando, Mutoshi, Lufira, Musonoi and Rhein of the second.
    assert len(answered) == 22


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"query": "{ participants { id } }"}, 403, "FORBIDDEN"),
        (
            {"query": '{ transparency { auditedThroughput(productLine: "x") { k } } }'},
            403,
            "FORBIDDEN",
        ),
        ({"documentId": "everything-about-kasulo", "variables": LINE}, 400, "BAD_INPUT"),
        (
            {"documentId": "artisanal-share", "variables": {"productLine": "kasulo-only"}},
            400,
            "BAD_INPUT",
        ),
        (
            {"documentId": "recycled-content", "variables": {**LINE, "element": "Cu"}},
            400,
            "BAD_INPUT",
        ),
        (
            {"documentId": "artisanal-share", "variables": LINE, "query": "{ trace }"},
            400,
            "BAD_INPUT",
        ),
        ({"documentId": "artisanal-share", "variables": {**LINE, "k": 1}}, 400, "BAD_INPUT"),
    ],
    ids=[
        "free-query",
        "transparency-field",
        "unknown-id",
        "line-out-of-bounds",
        "element-out-of-bounds",
        "id-and-query",
        "extra-variable",
    ],
)
async def test_an_ngo_runs_approved_documents_by_id_and_nothing_else(
    federation: Federation, payload: dict[str, Any], status: int, code: str
) -> None:
    answer_status, body = await post(federation, ngo(federation), payload)
    assert answer_status == status
    assert body["errors"][0]["extensions"] == {"code": code}


async def test_other_callers_cannot_reach_transparency_fields_without_an_id(
    federation: Federation,
) -> None:
    oem = federation.user("nordvolt")
    query = '{ transparency { auditedThroughput(productLine: "nordvolt-packs-2026") { k } } }'
    status, body = await post(federation, oem, {"query": query})
    assert status == 200
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}


def test_the_gateway_does_not_start_with_an_altered_or_unapproved_query(
    sample_config: FederationConfig,
) -> None:
    keys = FederationKeys.generate(sample_config.registry.participants)
    registry = sample_config.transparency.queries
    unsigned = replace(
        sample_config,
        transparency=replace(
            sample_config.transparency, queries=type(registry)(dict(registry.queries))
        ),
    )
    for query in unsigned.transparency.queries.queries.values():
        query.approvals.clear()
    roles = {org: [str(r) for r in p.roles] for org, p in unsigned.registry.participants.items()}
    pinned = keys.pinned(roles)
    with pytest.raises(ConfigError, match="is not approved by nordvolt"):
        gateway_app(unsigned, keys.gateway, pinned)
    approve_as_members(unsigned, keys)
    gateway_app(unsigned, keys.gateway, pinned)  # approved: starts
    queries = unsigned.transparency.queries.queries
    original = queries["artisanal-share"]
    queries["artisanal-share"] = replace(original, k=1, approvals=dict(original.approvals))
    with pytest.raises(ConfigError, match=r"artisanal-share\.toml.*changed after approval"):
        gateway_app(unsigned, keys.gateway, pinned)


async def test_on_neo4j_the_answer_is_kept_and_returned_too(neo4j_federation: Federation) -> None:
    """Nodes and the gateway's model on Neo4j: the same hand-computed figure, kept in
    Neo4j (a TransparencyAnswer node) and returned on a later run without any node."""
    first = await run(neo4j_federation, "cobalt-origin-countries")
    assert shares(first) == pytest.approx({"CD": CD})
    asked = {org: len(log_entries(log)) for org, log in neo4j_federation.node_logs.items()}
    assert await run(neo4j_federation, "cobalt-origin-countries") == first
    assert {org: len(log_entries(log)) for org, log in neo4j_federation.node_logs.items()} == asked
