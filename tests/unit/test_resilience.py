"""Deadlines, retries, the retry budget, circuit breakers, concurrency and lot limits."""

from __future__ import annotations

import asyncio
import time

from oretrail.config import ResiliencePolicy
from oretrail.domain.lotgraph import GapReason
from oretrail.errors import (
    InvalidNodeAnswer,
    NodeServerError,
    NodeTimedOut,
    NodeUnreachable,
    NodeWithheld,
)
from oretrail.gateway.planner import trace_upstream
from oretrail.gateway.resilience import CircuitBreaker, NodeGuards
from tests.unit.fakes import FakeNodeClient, registry_of
from tests.unit.lotgraphs import lid, lot

ROOT = lid("oem", "P1")
DOWN = NodeUnreachable("node ref: connection refused")
FAST = ResiliencePolicy(backoff=0.001)


def chain(*inputs: str) -> FakeNodeClient:
    return FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=tuple((i, 1.0) for i in inputs)),
            *(lot(i, contents=None) for i in inputs),
        ]
    )


async def test_a_transient_failure_is_retried_with_a_fresh_token() -> None:
    ref = lid("ref", "R1")
    client = chain(ref)
    client.fail_first["ref"] = (1, DOWN)
    tokens = iter(f"token-{n}" for n in range(10))
    graph = await trace_upstream(
        ROOT,
        5,
        registry_of("oem", "ref"),
        client,
        mint_token=lambda org: {"gateway-token": next(tokens)},
        guard=NodeGuards(FAST).trace(),
    )
    assert ref in graph.lots
    assert [node for node, _ in client.calls] == ["oem", "ref", "ref"]
    used = [c.headers["gateway-token"] for c in client.credentials if c is not None]
    assert len(used) == len(set(used)) == 3


async def test_a_timeout_a_refusal_or_a_bad_answer_is_not_retried() -> None:
    for error in (
        NodeTimedOut("node ref: no answer in time"),
        InvalidNodeAnswer("node ref: not JSON"),
        NodeWithheld("node ref refused the request's credentials"),
        # Decided by type, not by text: a bad answer that merely says "HTTP 5" is no 5xx.
        InvalidNodeAnswer("node ref at x answered HTTP 503"),
    ):
        client = chain(lid("ref", "R1"))
        client.failures["ref"] = error
        graph = await trace_upstream(
            ROOT, 5, registry_of("oem", "ref"), client, guard=NodeGuards(FAST).trace()
        )
        assert [node for node, _ in client.calls].count("ref") == 1
        assert graph.unopened[lid("ref", "R1")].reason == error.reason


async def test_an_http_5xx_is_retried_until_the_attempts_run_out() -> None:
    client = chain(lid("ref", "R1"))
    client.failures["ref"] = NodeServerError("node ref at x failed", 503)
    graph = await trace_upstream(
        ROOT, 5, registry_of("oem", "ref"), client, guard=NodeGuards(FAST).trace()
    )
    assert [node for node, _ in client.calls].count("ref") == 1 + FAST.retries
    assert graph.unopened[lid("ref", "R1")].reason is GapReason.INVALID_RESPONSE


async def test_retries_stop_at_the_traces_budget() -> None:
    orgs = [f"n{i}" for i in range(20)]
    inputs = [lid(org, "X") for org in orgs]
    client = chain(*inputs)
    for org in orgs:
        client.failures[org] = DOWN
    guard = NodeGuards(FAST).trace()
    await trace_upstream(ROOT, 5, registry_of("oem", *orgs), client, guard=guard)
    # 21 requests: the budget is 20 % of them plus 3, so 7 retries, not 20 x 2.
    assert guard.retries_used == int(21 * FAST.retry_budget) + 3
    assert len(client.calls) == 21 + guard.retries_used


async def test_an_open_circuit_fails_fast_then_lets_one_call_try() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures_to_open=3, cooldown=10, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()  # half-open: one trial
    breaker.failed()
    assert not breaker.allow()
    now[0] = 20.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.allow()


async def test_traces_share_a_nodes_breaker_and_stop_calling_a_dead_node() -> None:
    guards = NodeGuards(ResiliencePolicy(backoff=0.001, retries=0, breaker_failures=2))
    client = chain(lid("ref", "R1"))
    client.failures["ref"] = DOWN
    for _ in range(4):
        graph = await trace_upstream(
            ROOT, 5, registry_of("oem", "ref"), client, guard=guards.trace()
        )
    assert [node for node, _ in client.calls].count("ref") == 2
    assert "circuit open" in graph.unopened[lid("ref", "R1")].detail


async def test_a_slow_node_costs_no_more_than_the_traces_deadline() -> None:
    slow = lid("slow", "S1")
    client = chain(slow, lid("fast", "F1"))

    async def hang() -> None:
        await asyncio.sleep(30)

    client.before["slow"] = hang
    policy = ResiliencePolicy(trace_deadline=0.5, node_timeout=5.0)
    started = time.monotonic()
    graph = await trace_upstream(
        ROOT, 5, registry_of("oem", "slow", "fast"), client, guard=NodeGuards(policy).trace()
    )
    assert time.monotonic() - started < 1.0
    assert graph.unopened[slow].reason is GapReason.TIMEOUT
    assert lid("fast", "F1") in graph.lots


async def test_a_trace_stops_requesting_at_its_lot_limit() -> None:
    inputs = [lid("ref", f"R{i}") for i in range(5)]
    client = chain(*inputs)
    policy = ResiliencePolicy(max_lots=3)
    graph = await trace_upstream(
        ROOT, 5, registry_of("oem", "ref"), client, guard=NodeGuards(policy).trace()
    )
    limited = [g for g in graph.unopened.values() if g.reason is GapReason.LOT_LIMIT]
    assert len(graph.lots) == 3  # the root and two inputs
    assert len(limited) == 3


async def test_calls_to_one_node_respect_its_concurrency_limit() -> None:
    orgs = ["ref"]
    inputs = [lid("ref", f"R{i}") for i in range(6)]
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=tuple((i, 1.0) for i in inputs)),
            *(lot(i, contents=None) for i in inputs),
        ]
    )
    in_flight = peak = 0

    async def count() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    client.before["ref"] = count
    guards = NodeGuards(ResiliencePolicy(node_concurrency=1))
    await asyncio.gather(
        *(
            trace_upstream(ROOT, 5, registry_of("oem", *orgs), client, guard=guards.trace())
            for _ in range(4)
        )
    )
    assert peak == 1


def test_each_kind_of_node_failure_is_a_type_with_its_gap_reason() -> None:
    kinds = {
        NodeUnreachable: GapReason.UNREACHABLE,
        NodeTimedOut: GapReason.TIMEOUT,
        NodeWithheld: GapReason.WITHHELD,
        InvalidNodeAnswer: GapReason.INVALID_RESPONSE,
    }
    for kind, reason in kinds.items():
        error = kind("node ref: what happened")
        assert (GapReason(error.reason), error.detail) == (reason, "node ref: what happened")
    server = NodeServerError("node ref answered HTTP 502", 502)
    assert isinstance(server, InvalidNodeAnswer)
    assert (server.reason, server.status) == ("INVALID_RESPONSE", 502)
