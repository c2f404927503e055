"""Approved transparency queries over real HTTP: trusted documents, k-anonymity, the logs."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import Federation, FederationConfig, approve_as_members, gateway_app
from oretrail.client import signed_headers
from oretrail.errors import ConfigError
from tests.conftest import served_federation

pytestmark = pytest.mark.e2e

LINE = {"productLine": "nordvolt-packs-2026"}


async def post(
    federation: Federation, user: UserIdentity, payload: dict[str, Any]
) -> tuple[int, Any]:
    """POST ``payload`` with the user's own signed request for exactly it."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            federation.gateway_url, json=payload, headers=signed_headers(user, payload)
        ) as response,
    ):
        return response.status, await response.json()


def ngo(federation: Federation) -> UserIdentity:
    return federation.user("transparency-watch")


async def run(federation: Federation, query_id: str, **variables: str) -> dict[str, Any]:
    status, body = await post(
        federation, ngo(federation), {"documentId": query_id, "variables": {**LINE, **variables}}
    )
    assert status == 200, body
    assert "errors" not in body, body
    aggregate: dict[str, Any] = next(iter(body["data"]["transparency"].values()))
    return aggregate


def shares(aggregate: dict[str, Any]) -> dict[str, float]:
    return {g["name"]: g["share"] for g in aggregate["groups"]}


@pytest.fixture(scope="module")
def federation(sample_config: FederationConfig) -> Any:
    with served_federation(sample_config) as running:
        yield running


async def test_results_equal_the_hand_computed_aggregates(federation: Federation) -> None:
    # Cobalt in the pack: 2.4 t primary and 0.5 t recycled sulfate at 21 % Co. The
    # primary came from two Congolese mines, the recycled from two Norwegian recyclers.
    countries = await run(federation, "cobalt-origin-countries")
    assert shares(countries) == pytest.approx({"CD": 2.4 / 2.9, "NO": 0.5 / 2.9})
    assert [g["contributors"] for g in countries["groups"]] == [2, 2]
    # Processors on the path weigh by the pack's element mass through them, not their
    # gross tonnes. Pack 22.5 t: Co 1.098 % = 247.05 kg, Ni 8.55 % = 1,923.75 kg,
    # Li 1.278 % = 287.55 kg, C 9.63 % = 2,166.75 kg. Audited on their production dates:
    # Boreal (Co x 2.4/2.9), Kambove's hydroxide plant (Co x 2.4/2.9 x 2.24/3.00),
    # Sulawesi's HPAL (Ni x 18/21.6), Coastal (all the Li). Not audited: Circulo's
    # recycled sulfates (Co x 0.5/2.9, Ni x 3.6/21.6) and black mass (Co x 0.5/2.9 x
    # 3/5.25 + Ni x 3.6/21.6), Nordic Nickel (Ni x 18/21.6, expired), Huaxi (all the C).
    co, ni, li, c = 247.05, 1923.75, 287.55, 2166.75
    audited = co * 2.4 / 2.9 + co * 2.4 / 2.9 * 2.24 / 3.00 + ni * 18 / 21.6 + li
    not_audited = (
        co * 0.5 / 2.9
        + ni * 3.6 / 21.6
        + co * 0.5 / 2.9 * 3 / 5.25
        + ni * 3.6 / 21.6
        + ni * 18 / 21.6
        + c
    )
    total = audited + not_audited
    audits = await run(federation, "refiner-audit-coverage")
    assert shares(audits) == pytest.approx(
        {"AUDITED": audited / total, "NOT_AUDITED": not_audited / total}
    )
    recycled = await run(federation, "recycled-content", element="Co")
    assert shares(recycled) == pytest.approx({"POST_CONSUMER": 0.5 / 2.9, "PRIMARY": 2.4 / 2.9})


async def test_groups_of_one_organisation_are_suppressed_with_their_complement(
    federation: Federation,
) -> None:
    # One artisanal cooperative: its share would name it. Both groups are suppressed.
    artisanal = await run(federation, "artisanal-share")
    assert artisanal["groups"] == []
    assert artisanal["suppressed"] == 2
    # Nickel: one recycler and one HPAL producer, each alone in its group.
    nickel = await run(federation, "recycled-content", element="Ni")
    assert nickel["groups"] == []
    assert nickel["suppressed"] == 2


async def test_no_combination_of_published_figures_recovers_the_artisanal_share(
    federation: Federation,
) -> None:
    asm = (2.4 / 2.9) * (4 * 0.19) / (7 * 0.32 + 4 * 0.19)  # the share that must stay hidden
    published = []
    for query_id, extra in [
        ("cobalt-origin-countries", {}),
        ("refiner-audit-coverage", {}),
        ("artisanal-share", {}),
        ("recycled-content", {"element": "Co"}),
        ("recycled-content", {"element": "Li"}),
        ("recycled-content", {"element": "Ni"}),
    ]:
        aggregate = await run(federation, query_id, **extra)
        published += [g["share"] for g in aggregate["groups"]]
        if aggregate["residual"] is not None:
            published.append(aggregate["residual"])
    candidates = {0.0, 1.0, *published}
    for a, b in itertools.product(candidates, repeat=2):
        for value in (a - b, a + b, 1 - a - b):
            assert abs(value - asm) > 1e-6, (a, b)


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


async def test_each_node_logs_the_purpose_of_every_transparency_request(
    federation: Federation,
) -> None:
    await run(federation, "refiner-audit-coverage")
    purposes: dict[str, set[str]] = {}
    for org, log in federation.node_logs.items():
        purposes[org] = {
            e["purpose"]
            for e in log.records()
            if e["org"] == "transparency-watch" and e["query"] == "lots"
        }
    answered = {org for org, seen in purposes.items() if seen}
    assert len(answered) == 16  # every organisation with lots on the pack's chain
    assert all(
        seen
        <= {
            f"transparency:{q}"
            for q in (
                "cobalt-origin-countries",
                "refiner-audit-coverage",
                "artisanal-share",
                "recycled-content",
            )
        }
        for seen in purposes.values()
    )
    assert all("transparency:refiner-audit-coverage" in purposes[org] for org in answered)


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
