"""A hostile gateway against ``verify_evidence``, with answers it can obtain for real.

The gateway operator holds the gateway key and every caller's signed request it
forwards, so it can ask any node anything under that request (tests/support/trust.py,
``ask_node``) and put the signed answers it likes in the bundle. Each bundle below is
built from real signed answers of real nodes; each must fail to verify.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from oretrail.auth.callers import UserIdentity
from oretrail.bootstrap import Federation, FederationConfig
from oretrail.client import GatewayClient
from oretrail.client_results import Trace
from oretrail.report import TRACE_EVIDENCE_QUERY
from oretrail.verify import Verification, compare_answer, verify_evidence
from tests.conftest import PACK, graphql, oem_token
from tests.e2e.test_evidence_e2e import (
    AS_OF,
    KASULO,
    answer_holding,
    own_registry,
    problems,
    restated,
)
from tests.support.trust import ask_node

pytestmark = pytest.mark.e2e


async def traced_as(federation: Federation, user: UserIdentity) -> dict[str, Any]:
    body = await graphql(
        federation.gateway_url, TRACE_EVIDENCE_QUERY, {"lot": PACK, "asOf": AS_OF}, token=user
    )
    assert "errors" not in body, body
    bundle: dict[str, Any] = body["data"]["trace"]["evidence"]
    return bundle


@pytest.fixture(scope="module")
def caller(federation: Federation) -> UserIdentity:
    """The caller whose certificate the gateway saw beside the request it forwarded."""
    return oem_token(federation)


@pytest.fixture(scope="module")
def honest(federation: Federation, caller: UserIdentity) -> dict[str, Any]:
    return asyncio.run(traced_as(federation, caller))


async def signed_gap(
    federation: Federation, caller: UserIdentity, bundle: dict[str, Any], org: str, lot: str
) -> dict[str, Any]:
    """``org``'s real signed answer, under the bundle's own request, to a lots call for
    ``lot`` with no grant: the bundle entry a hostile gateway would add."""
    variables = {"ids": [lot], "grants": []}
    status, body = await ask_node(federation, org, bundle["request"], caller.certificate, variables)
    assert status == 200, body
    [item] = body["data"]["lots"]["answers"]
    assert item["status"] in ("NOT_FOUND", "WITHHELD"), item
    return {"node": org, "operation": "lots", "variables": variables, "response": body}


def dropped_as_signed_gap(
    honest: dict[str, Any], answer: dict[str, Any], registry: Any
) -> dict[str, Any]:
    """``honest`` with KASULO's answer replaced by ``answer``, reported as its status."""
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    del bundle["answers"][number]
    bundle["answers"].append(answer)
    status = answer["response"]["data"]["lots"]["answers"][0]["status"]
    bundle["gaps"].append(
        {"lot": KASULO, "owner": "kasulo-coop", "reason": status, "detail": "as signed"}
    )
    return restated(bundle, registry)


async def test_a_gap_signed_by_a_node_that_does_not_own_the_lot_is_caught(
    federation: Federation,
    sample_config: FederationConfig,
    caller: UserIdentity,
    honest: dict[str, Any],
) -> None:
    """The gateway asks the OEM's node about Kasulo's lot: it signs NOT_FOUND or WITHHELD
    (it holds no such lot). Only the owner's word can make a lot a signed gap."""
    registry = own_registry(federation, sample_config)
    answer = await signed_gap(federation, caller, honest, "nordvolt", KASULO)
    found = problems(dropped_as_signed_gap(honest, answer, registry), registry)
    assert any(KASULO in p for p in found), found


async def test_a_whole_refusal_by_another_node_opens_no_signed_gap(
    federation: Federation,
    sample_config: FederationConfig,
    caller: UserIdentity,
    honest: dict[str, Any],
) -> None:
    """A node's signed refusal of the whole request speaks for its own lots alone; the ids
    beside it are the gateway's word (the signature does not cover them)."""
    registry = own_registry(federation, sample_config)
    status, body = await ask_node(
        federation,
        "nordvolt",
        honest["request"],
        caller.certificate,
        {},
        query="",
    )
    assert status >= 400 or "errors" in body, body
    bundle = copy.deepcopy(honest)
    number, _ = answer_holding(bundle, KASULO)
    del bundle["answers"][number]
    refusal = {"node": "nordvolt", "operation": "lots", "variables": {"ids": [KASULO]}}
    bundle["answers"].append({**refusal, "response": body})
    bundle["gaps"].append(
        {"lot": KASULO, "owner": "kasulo-coop", "reason": "WITHHELD", "detail": "refused"}
    )
    found = problems(restated(bundle, registry), registry)
    assert any(KASULO in p for p in found), found


async def test_a_lot_asked_of_its_owner_without_its_grant_is_caught(
    federation: Federation,
    sample_config: FederationConfig,
    caller: UserIdentity,
    honest: dict[str, Any],
) -> None:
    """The gateway asks Kasulo's node for its lot but leaves out the grant the smelter's
    answer issued: the owner signs a refusal of it, truly, for this request."""
    registry = own_registry(federation, sample_config)
    answer = await signed_gap(federation, caller, honest, "kasulo-coop", KASULO)
    found = verify_evidence(dropped_as_signed_gap(honest, answer, registry), pinned=registry)
    assert not found.ok, found.unvouched


async def test_a_grant_listed_beside_an_answer_but_not_presented_is_caught(
    federation: Federation,
    sample_config: FederationConfig,
    caller: UserIdentity,
    honest: dict[str, Any],
) -> None:
    """The same withheld answer, with the grant written into the call's variables after
    the fact: the node signed the variables it was asked with, so the edit shows."""
    registry = own_registry(federation, sample_config)
    answer = await signed_gap(federation, caller, honest, "kasulo-coop", KASULO)
    issued = [
        c["grant"]
        for a in honest["answers"]
        for c in a["response"]["data"]["lots"]["continuations"]
        if KASULO in c["lots"]
    ]
    assert issued
    answer["variables"] = {**answer["variables"], "grants": issued}
    found = problems(dropped_as_signed_gap(honest, answer, registry), registry)
    assert any("another call" in p for p in found), found


@pytest.mark.parametrize(
    ("what", "hostile"),
    [
        # 2**63 is valid JSON but no exact double: RFC 8785 cannot write it.
        ("an integer past 2**53", "9223372036854775808"),
        # Python reads 1e400 as infinity, which RFC 8785 refuses.
        ("a number that overflows to infinity", "1e400"),
        # 600 nested arrays: the JSON reader takes them, a recursive walk does not.
        ("deep nesting", "[" * 600 + "]" * 600),
    ],
)
def test_oretrail_verify_refuses_a_hostile_answer_without_a_traceback(
    honest: dict[str, Any], tmp_path: Path, what: str, hostile: str
) -> None:
    """A value planted in a node's answer is reported as a problem of that answer."""
    bundle = copy.deepcopy(honest)
    bundle["answers"][0]["response"]["data"]["planted"] = "PLANTED"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(bundle).replace('"PLANTED"', hostile), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "oretrail", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1, (what, run.stderr[-2000:])
    assert "Traceback" not in run.stderr
    assert "answer 0" in run.stderr, run.stderr[-2000:]
    assert "RFC 8785" in run.stderr, run.stderr[-2000:]


@pytest.fixture(scope="module")
def client_trace(federation: Federation, sample_config: FederationConfig) -> Trace:
    """An honest trace, asked with its evidence by the typed client, checked by it."""

    async def run() -> Trace:
        async with GatewayClient(
            federation.gateway_url,
            oem_token(federation),
            pinned=own_registry(federation, sample_config),
        ) as gateway:
            return await gateway.trace(PACK, as_of=date.fromisoformat(AS_OF), evidence=True)

    return asyncio.run(run())


def kasulo_origin(shown: dict[str, Any]) -> dict[str, Any]:
    origins: list[dict[str, Any]] = [o for o in shown["origins"] if o["lot"] == KASULO]
    [origin] = origins
    return origin


def _relabel_country(shown: dict[str, Any]) -> None:
    kasulo_origin(shown)["facility"]["country"] = "AU"


def _clear_cahra(shown: dict[str, Any]) -> None:
    kasulo_origin(shown)["facility"]["cahra"] = False


def _clear_artisanal(shown: dict[str, Any]) -> None:
    facility = kasulo_origin(shown)["facility"]
    facility["artisanal"] = not facility["artisanal"]


def _change_owner(shown: dict[str, Any]) -> None:
    kasulo_origin(shown)["owner"] = "kambove-mining"


def _change_material(shown: dict[str, Any]) -> None:
    kasulo_origin(shown)["material"] = "recycled black mass"


def _halve_risk_shares(shown: dict[str, Any]) -> None:
    [risk] = [r for r in shown["risks"] if r["kind"] == "CAHRA_ORIGIN" and r["lot"] == KASULO]
    risk["shares"] = [{**s, "share": s["share"] / 2} for s in risk["shares"]]


def _null_risks(shown: dict[str, Any]) -> None:
    shown["risks"] = None


def _drop_element(shown: dict[str, Any]) -> None:
    shown["elements"] = [e for e in shown["elements"] if e != "Co"]


def _shallower(shown: dict[str, Any]) -> None:
    shown["maxDepth"] = 3


def _hide_unknown(shown: dict[str, Any]) -> None:
    shown["coverage"] = [{**c, "unknown": 0.0} for c in shown["coverage"]]


def _edit_edge(shown: dict[str, Any]) -> None:
    shown["edges"][0]["kilograms"] *= 2


@pytest.mark.parametrize(
    ("key", "edit"),
    [
        ("origins", _relabel_country),
        ("origins", _clear_cahra),
        ("origins", _clear_artisanal),
        ("origins", _change_owner),
        ("origins", _change_material),
        ("risks", _halve_risk_shares),
        ("risks", _null_risks),
        ("elements", _drop_element),
        ("maxDepth", _shallower),
        ("coverage", _hide_unknown),
        ("edges", _edit_edge),
    ],
)
def test_a_trace_answer_edited_beside_an_honest_bundle_is_caught(
    client_trace: Trace, key: str, edit: Callable[[dict[str, Any]], None]
) -> None:
    """The gateway shows the caller an answer other than its evidence recomputes to: an
    origin's country, CAHRA or ASM flag relabelled, a risk's shares cut, a field nulled.
    The honest answer itself compares equal field for field."""
    assert client_trace.verification is not None
    assert client_trace.verification.problems == []
    shown = copy.deepcopy(dict(client_trace.raw))
    edit(shown)
    found = Verification(report=client_trace.verification.report)
    compare_answer(shown, found)
    assert len(found.problems) == 1, found.problems
    assert f"answer's {key} differ" in found.problems[0]
