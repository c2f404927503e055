"""What leaves a node during approved transparency queries, and what nodes refuse.

Real nodes behind a recorder (the gateway's inbox), real servers, real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.access_log import AccessLog
from oretrail.auth.declarations import HEADER_APPROVED_QUERY
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_ROOTS
from oretrail.auth.requests import sign_request
from oretrail.auth.roots import sign_root_list
from oretrail.bootstrap import (
    Federation,
    FederationConfig,
    approve_as_members,
    node_app,
    node_security,
)
from oretrail.client import request_context
from oretrail.domain.transparency import last_closed_period, period_containing
from oretrail.gateway.approved import load_approved
from tests.conftest import CONFIG_DIR, PACK, ROOT, served_federation
from tests.support.node_wrappers import RewrittenNode
from tests.support.transparency import (
    ALL_RUNS,
    LINE,
    declared_fields,
    fresh_model,
    log_entries,
    ngo,
    post,
    run,
)
from tests.support.trust import ask_node, edited_sample, statuses

pytestmark = pytest.mark.e2e

PERIOD = last_closed_period(datetime.now(UTC))


def seed_secrets() -> set[str]:
    """Facility ids, facility names and organisation names of every sample seed: none of
    them may reach the gateway during an approved query."""
    secrets = set()
    for path in (ROOT / "graph" / "seed").glob("*.toml"):
        seed = tomllib.loads(path.read_text(encoding="utf-8"))
        secrets.add(seed["organisation"]["name"])
        for facility in seed.get("facilities", []):
            secrets |= {facility["id"], facility["name"]}
    return secrets


class Recorded:
    """A federation whose every node answer is recorded on its way to the gateway, and
    what the nodes sent and logged while every approved query ran once."""

    def __init__(self, federation: Federation, logs: dict[str, AccessLog]) -> None:
        self.federation = federation
        self.logs = logs
        self.received: dict[str, list[str]] = {}
        self.entries: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture(scope="module")
def recorded(
    sample_config: FederationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Recorded]:
    config = fresh_model(sample_config, tmp_path_factory.mktemp("leaks-model"))
    keys = FederationKeys.generate(config.registry.participants)
    approve_as_members(config, keys)  # what the federation does with keys it makes
    roles = {o: [str(r) for r in p.roles] for o, p in config.registry.participants.items()}
    received: dict[str, list[str]] = defaultdict(list)
    apps: dict[str, Any] = {}
    logs = {}
    for org, participant in config.registry.participants.items():
        if participant.seed is None:
            continue
        security = node_security(
            participant, keys.member(org).node_key, keys.pinned(roles), config, None
        )
        logs[org] = security.log

        def keep(document: dict[str, Any], org: str = org) -> None:
            received[org].append(json.dumps(document))

        apps[org] = RewrittenNode(node_app(participant, security, graph_dir=config.graph_dir), keep)
    with served_federation(config, replace_apps=apps, keys=keys) as federation:
        running = Recorded(federation, logs)
        asyncio.run(_run_every_query(federation))
        running.received = {org: list(documents) for org, documents in received.items()}
        running.entries = {org: log_entries(log) for org, log in logs.items()}
        yield running


async def _run_every_query(federation: Federation) -> None:
    for query_id, extra in ALL_RUNS:
        await run(federation, query_id, **extra)


async def test_during_every_approved_query_nodes_give_only_the_declared_fields(
    recorded: Recorded,
) -> None:
    declared = declared_fields()
    answering: dict[str, set[str]] = defaultdict(set)
    for org, entries in recorded.entries.items():
        for entry in entries:
            assert entry["org"] == "transparency-watch", entry  # no one else asked
            query_id = entry["purpose"].removeprefix("transparency:")
            for lot in entry["lots"]:
                assert set(lot["given"]) <= declared[query_id], (org, query_id, lot)
                if lot["status"] == "FOUND":
                    answering[query_id].add(org)
    # Every approved query was answered, by every organisation on the packs' chains
    # (22: the 16 of the first pack, Tshala, Kando, Mutoshi, Lufira, Musonoi, Rhein).
    assert set(answering) == set(declared)
    assert all(len(orgs) == 22 for orgs in answering.values())


async def test_no_facility_detail_or_supplier_name_reaches_the_gateway(
    recorded: Recorded,
) -> None:
    assert sum(len(documents) for documents in recorded.received.values()) >= 22
    secrets = seed_secrets()
    found = 0
    for org, documents in recorded.received.items():
        for text in documents:
            leaked = sorted(s for s in secrets if s in text)
            assert not leaked, (org, leaked)
            for answer in json.loads(text)["data"]["lots"]["answers"]:
                lot = answer["lot"]
                if lot is None:
                    continue
                found += 1
                place = lot["facility"]
                for detail in ("id", "name", "kind", "latitude", "longitude"):
                    assert place[detail] is None, (org, detail, place)
                # Certificates say what is attested and when, not of which site.
                for certificate in place["certificates"] or ():
                    assert (certificate["id"], certificate["subject"]) == ("", ""), org
                # An input's supplier is what its lot id carries, nothing more.
                assert all(link["owner"] is None for link in lot["inputs"] or ()), org
    assert found >= 30


async def test_a_node_whose_policy_does_not_list_the_query_or_its_version_refuses(
    tmp_path: Path,
) -> None:
    # Boreal's policy lists no artisanal-share; Circulo's lists another version of it.
    def drop(text: str) -> str:
        return "\n".join(
            line for line in text.splitlines() if not line.startswith("artisanal-share =")
        )

    def other_version(text: str) -> str:
        return "\n".join(
            'artisanal-share = "sha256:' + "A" * 43 + '"'
            if line.startswith("artisanal-share =")
            else line
            for line in text.splitlines()
        )

    config = edited_sample(
        tmp_path,
        edits={
            "config/policies/boreal-cobalt.toml": drop,
            "config/policies/circulo-recycling.toml": other_version,
        },
    )
    with served_federation(config) as federation:
        await run(federation, "artisanal-share")
        await run(federation, "cobalt-origin-countries")
        for org, why in (
            ("boreal-cobalt", "does not answer the transparency query 'artisanal-share'"),
            ("circulo-recycling", "not the version this node's policy lists"),
        ):
            entries = [
                e
                for e in log_entries(federation.node_logs[org])
                if e["purpose"] == "transparency:artisanal-share"
            ]
            assert entries, org
            lots = [lot for e in entries for lot in e["lots"]]
            assert all(lot["status"] == "WITHHELD" and lot["given"] == [] for lot in lots)
            assert all(why in lot["reason"] for lot in lots), lots
            # The queries its policy lists, it still answers.
            assert any(
                lot["status"] == "FOUND"
                for e in log_entries(federation.node_logs[org])
                if e["purpose"] == "transparency:cobalt-origin-countries"
                for lot in e["lots"]
            )


@pytest.mark.parametrize(
    ("as_of", "why"),
    [
        (PERIOD.closes_at - timedelta(days=1), "not the end of a reporting period"),
        (PERIOD.closes_at.replace(hour=0, minute=0, second=0), "not the end of a reporting"),
        (PERIOD.closes_at + timedelta(seconds=1), "not the end of a reporting period"),
        (
            period_containing(datetime.now(UTC).date()).closes_at,  # the open quarter
            "is not closed yet",
        ),
    ],
    ids=["a-day-early", "midnight-of-the-last-day", "a-second-late", "the-open-quarter"],
)
async def test_a_request_whose_as_of_is_not_a_closed_periods_end_is_refused(
    recorded: Recorded, as_of: datetime, why: str
) -> None:
    federation = recorded.federation
    user = ngo(federation)
    payload = {"documentId": "artisanal-share", "variables": LINE}
    context = replace(request_context(payload), as_of=as_of)
    headers = {
        "Authorization": f"Bearer {sign_request(user, context)}",
        HEADER_CERTIFICATE: user.certificate,
    }
    # The gateway refuses it ...
    status, body = await post(federation, user, payload, headers)
    assert status == 200
    assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT"}
    assert why in body["errors"][0]["message"]
    # ... and so does the owner's node, asked directly, with a root list for the
    # period holding the as-of.
    roots = sign_root_list(
        federation.keys.member("nordvolt").org_key,
        LINE["productLine"],
        [PACK],
        period_containing(as_of.date()).label,
    )
    declared = load_approved(CONFIG_DIR / "approved").get("artisanal-share").forwarded()
    before = len(log_entries(recorded.logs["nordvolt"]))
    _, answer = await ask_node(
        federation,
        "nordvolt",
        sign_request(user, context),
        user.certificate,
        {"ids": [PACK]},
        extra={HEADER_ROOTS: roots, HEADER_APPROVED_QUERY: declared},
    )
    assert statuses(answer) == [(PACK, "WITHHELD")]
    logged = log_entries(recorded.logs["nordvolt"])[before:]
    assert [lot["status"] for e in logged for lot in e["lots"]] == ["WITHHELD"]
    assert all(why in lot["reason"] for e in logged for lot in e["lots"])


async def test_a_root_list_for_another_period_opens_nothing(recorded: Recorded) -> None:
    federation = recorded.federation
    user = ngo(federation)
    payload = {"documentId": "artisanal-share", "variables": LINE}
    request = sign_request(user, request_context(payload))  # as-of: the end of PERIOD
    declared = load_approved(CONFIG_DIR / "approved").get("artisanal-share").forwarded()
    earlier = period_containing(PERIOD.start - timedelta(days=1)).label
    outcomes = {}
    for period in (PERIOD.label, earlier):
        roots = sign_root_list(
            federation.keys.member("nordvolt").org_key, LINE["productLine"], [PACK], period
        )
        _, answer = await ask_node(
            federation,
            "nordvolt",
            request,
            user.certificate,
            {"ids": [PACK]},
            extra={HEADER_ROOTS: roots, HEADER_APPROVED_QUERY: declared},
        )
        outcomes[period] = statuses(answer)[0][1]
    assert outcomes == {PERIOD.label: "FOUND", earlier: "WITHHELD"}
