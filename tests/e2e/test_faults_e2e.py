"""Broken nodes become gaps with the right reason while the rest of the trace completes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from oretrail.auth.party_keys import FederationKeys
from oretrail.bootstrap import FederationConfig
from oretrail.report import TRACE_QUERY
from tests.conftest import PACK, graphql, oem_token, served_federation
from tests.support.node_wrappers import DelayedNode, RewrittenNode, real_node
from tests.support.seed_cases import case_federation, cases_dir

pytestmark = pytest.mark.e2e

LOT = "urn:oretrail:lot:"
NICKEL_SULFATE = f"{LOT}nordic-nickel:NS-2026-310"
COBALT_SULFATE = f"{LOT}boreal-cobalt:CS-2026-102"
# Coastal Lithium's hydroxide claims more Li than its inputs supply: always one
# UNSUPPORTED_CLAIM gap in the sample.
SAMPLE_GAPS = {f"{LOT}coastal-lithium:LH-2026-061": "UNSUPPORTED_CLAIM"}


def node_answering(response: Response, delay: float = 0.0) -> Starlette:
    async def endpoint(request: Request) -> Response:
        await asyncio.sleep(delay)
        return response

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


async def trace_with(config: FederationConfig, **faults: Any) -> dict[str, Any]:
    return (await timed_trace(config, **faults))[1]


async def timed_trace(config: FederationConfig, **faults: Any) -> tuple[float, dict[str, Any]]:
    """The trace's answer, and how long the gateway took to give it."""
    with served_federation(config, **faults) as federation:
        started = time.monotonic()
        body = await graphql(
            federation.gateway_url,
            TRACE_QUERY,
            {"lot": PACK, "asOf": "2026-11-26"},
            token=oem_token(federation),
        )
        elapsed = time.monotonic() - started
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["trace"]
    return elapsed, result


def gap_reasons(result: dict[str, Any]) -> dict[str, str]:
    """Gap reasons by lot, less the one the sample's policies always cause."""
    reasons = {g["lot"]: g["reason"] for g in result["gaps"]}
    assert {k: reasons.get(k) for k in SAMPLE_GAPS} == SAMPLE_GAPS
    return {k: v for k, v in reasons.items() if k not in SAMPLE_GAPS}


async def test_a_node_that_is_down_is_an_unreachable_gap(sample_config: FederationConfig) -> None:
    result = await trace_with(sample_config, down=frozenset({"nordic-nickel"}))
    assert gap_reasons(result) == {NICKEL_SULFATE: "UNREACHABLE"}
    origins = {o["lot"] for o in result["origins"]}
    assert f"{LOT}kasulo-coop:HG-2026-007" in origins
    assert f"{LOT}sulawesi-hpal:LO-2026-220" not in origins
    # The unseen nickel sulfate's contents are unknown, never zero: the cathode falls
    # back to mass shares among the inputs that may hold each element. Ni: 18 t unseen
    # and 3.6 t recycled sulfate -> 18/21.6 behind the gap, 3.6/21.6 covered.
    gap = next(g for g in result["gaps"] if g["lot"] == NICKEL_SULFATE)
    behind = {s["element"]: s["share"] for s in gap["shares"]}
    assert behind["Ni"] == pytest.approx(18 / 21.6)
    coverage = {c["element"]: c["coverage"] for c in result["coverage"]}
    assert coverage["Ni"] == pytest.approx(3.6 / 21.6)
    # Cobalt: 2.4 t + 0.5 t of visible sulfates and the 18 t unseen one -> 2.9/20.9.
    assert coverage["Co"] == pytest.approx(2.9 / 20.9)
    assert coverage["C"] == pytest.approx(1.0)
    assert "LOW_COVERAGE" in {r["kind"] for r in result["risks"]}


@pytest.mark.parametrize(
    "response",
    [
        PlainTextResponse("<html>upstream proxy error</html>"),
        JSONResponse({"data": {"lots": {"answers": "not a list", "continuations": []}}}),
        JSONResponse(
            {
                "data": {
                    "lots": {
                        "answers": [{"id": COBALT_SULFATE, "status": "FOUND", "lot": None}],
                        "continuations": [],
                    }
                }
            }
        ),
        JSONResponse({"errors": [{"message": "boom"}]}),
        PlainTextResponse("Internal Server Error", status_code=500),
    ],
    ids=["not-json", "wrong-shape", "found-without-lot", "errors-only", "http-500"],
)
async def test_a_node_answering_garbage_is_an_invalid_response_gap(
    sample_config: FederationConfig, response: Response
) -> None:
    result = await trace_with(
        sample_config, replace_apps={"boreal-cobalt": node_answering(response)}
    )
    assert gap_reasons(result) == {COBALT_SULFATE: "INVALID_RESPONSE"}
    assert f"{LOT}yilgarn-lithium:SC6-2026-088" in {o["lot"] for o in result["origins"]}


async def test_a_node_claiming_another_owners_lot_is_refused(
    sample_config: FederationConfig,
) -> None:
    impostor = {
        "data": {
            "lots": {
                "answers": [
                    {
                        "id": COBALT_SULFATE,
                        "status": "FOUND",
                        "detail": None,
                        "lot": {"id": COBALT_SULFATE, "owner": "somebody-else"},
                    }
                ],
                "continuations": [],
            }
        }
    }
    result = await trace_with(
        sample_config, replace_apps={"boreal-cobalt": node_answering(JSONResponse(impostor))}
    )
    assert gap_reasons(result) == {COBALT_SULFATE: "INVALID_RESPONSE"}
    [gap] = [g for g in result["gaps"] if g["lot"] == COBALT_SULFATE]
    assert "as owned by 'somebody-else'" in gap["detail"]


def with_deadline(config: FederationConfig, deadline: float, node_timeout: float) -> Any:
    resilience = replace(
        config.settings.resilience, trace_deadline=deadline, node_timeout=node_timeout
    )
    return replace(
        config, settings=replace(config.settings, node_timeout=node_timeout, resilience=resilience)
    )


def endless_stream() -> Starlette:
    async def endpoint(request: Request) -> Response:
        async def chunks() -> Any:
            while True:
                yield b'{"data": {"lots": ['
                await asyncio.sleep(0.05)

        return StreamingResponse(chunks(), media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


async def test_a_node_slower_than_the_trace_deadline_costs_only_the_deadline(
    sample_config: FederationConfig,
) -> None:
    # The node would take 30 s; the trace has 1.5 s and each call 10 s: the deadline wins.
    config = with_deadline(sample_config, deadline=1.5, node_timeout=10.0)
    slow = node_answering(JSONResponse({"data": {"lots": []}}), delay=30)
    elapsed, result = await timed_trace(config, replace_apps={"boreal-cobalt": slow})
    assert gap_reasons(result) == {COBALT_SULFATE: "TIMEOUT"}
    assert elapsed < 1.5 + 1.0  # the deadline, and never the node's 30 s


async def test_a_huge_answer_is_refused_not_buffered(sample_config: FederationConfig) -> None:
    huge = PlainTextResponse("x" * (17 * 1024 * 1024), media_type="application/json")
    config = with_deadline(sample_config, deadline=10.0, node_timeout=5.0)
    elapsed, result = await timed_trace(
        config, replace_apps={"boreal-cobalt": node_answering(huge)}
    )
    assert gap_reasons(result) == {COBALT_SULFATE: "INVALID_RESPONSE"}
    assert elapsed < 5.0


async def test_an_endless_chunked_stream_ends_at_the_call_timeout(
    sample_config: FederationConfig,
) -> None:
    config = with_deadline(sample_config, deadline=10.0, node_timeout=1.0)
    elapsed, result = await timed_trace(config, replace_apps={"boreal-cobalt": endless_stream()})
    assert gap_reasons(result) == {COBALT_SULFATE: "TIMEOUT"}
    assert elapsed < 1.0 + 1.0  # the call timeout, and never the endless stream


async def test_a_node_slower_than_its_timeout_is_a_timeout_gap(
    sample_config: FederationConfig,
) -> None:
    quick = replace(sample_config, settings=replace(sample_config.settings, node_timeout=0.3))
    slow = node_answering(JSONResponse({"data": {"lots": []}}), delay=1.5)
    result = await trace_with(quick, replace_apps={"boreal-cobalt": slow})
    assert gap_reasons(result) == {COBALT_SULFATE: "TIMEOUT"}


# The case batch-poisoning-timing-dependent (../shared/cases): oem-a's P1 <- cell-a's
# A1 <- mine-m's M1, and P1 <- cell-b's B1 <- mine-m's M2; Co 10 % everywhere.
P1, M1, M2 = f"{LOT}oem-a:P1", f"{LOT}mine-m:M1", f"{LOT}mine-m:M2"


def m2_with_co_above_one(document: dict[str, Any]) -> None:
    """mine-m's real answer, with M2's Co fraction turned into 1.5; M1's left sound."""
    for item in document.get("data", {}).get("lots", {}).get("answers", []):
        if item.get("id") == M2 and item.get("lot"):
            item["lot"]["contents"] = [{"element": "Co", "fraction": 1.5}]


def m2_left_out(document: dict[str, Any]) -> None:
    answers = document.get("data", {}).get("lots", {}).get("answers")
    if isinstance(answers, list):
        answers[:] = [item for item in answers if item.get("id") != M2]


@pytest.mark.parametrize("run", ["A", "B"])
@pytest.mark.parametrize(
    "fault", [m2_with_co_above_one, m2_left_out], ids=["malformed", "left-out"]
)
async def test_case_batch_poisoning_one_bad_lot_is_one_gap_on_real_servers(
    tmp_path: Path, run: str, fault: Callable[[dict[str, Any]], None]
) -> None:
    config = case_federation(cases_dir() / "batch-poisoning-timing-dependent" / "seeds", tmp_path)
    # Siblings' ids wait up to 0.1 s for each other: in run A (every node at once)
    # M1 and M2 share one request; in run B cell-b answers 0.3 s late, and they do not.
    resilience = replace(config.settings.resilience, coalesce_window=0.1)
    config = replace(config, settings=replace(config.settings, resilience=resilience))
    keys = FederationKeys.generate(config.registry.participants)
    mine = RewrittenNode(real_node(config, "mine-m", keys), fault)
    apps: dict[str, Any] = {"mine-m": mine}
    if run == "B":
        apps["cell-b"] = DelayedNode(real_node(config, "cell-b", keys), 0.3)
    with served_federation(config, replace_apps=apps, keys=keys) as federation:
        body = await graphql(
            federation.gateway_url,
            TRACE_QUERY,
            {"lot": P1, "asOf": "2026-02-01"},
            token=federation.user("oem-a"),
        )
    assert "errors" not in body, body
    trace = body["data"]["trace"]
    assert mine.asked == ([(M1, M2)] if run == "A" else [(M1,), (M2,)])
    # P1: 2 t x 10 % Co = 200 kg, half through A1 (from M1), half through B1 (from M2).
    assert [(o["lot"], o["shares"]) for o in trace["origins"]] == [
        (M1, [{"element": "Co", "share": pytest.approx(0.5), "approximate": False}])
    ]
    assert [(g["lot"], g["reason"], g["shares"]) for g in trace["gaps"]] == [
        (M2, "INVALID_RESPONSE", [{"element": "Co", "share": pytest.approx(0.5)}])
    ]
    assert trace["coverage"] == [
        {"element": "Co", "coverage": pytest.approx(0.5), "unknown": pytest.approx(0.5)}
    ]
