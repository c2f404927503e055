"""The upstream planner, against a fake node client: batching, per-branch dispatch, gaps."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from oretrail.config import ResiliencePolicy
from oretrail.domain.lotgraph import GapReason, TracedInput
from oretrail.errors import (
    InvalidNodeAnswer,
    NodeCallError,
    NodeTimedOut,
    NodeUnreachable,
    NodeWithheld,
)
from oretrail.gateway.planner import trace_upstream
from oretrail.gateway.resilience import NodeGuards
from tests.unit.fakes import FakeNodeClient, registry_of, wait_for
from tests.unit.lotgraphs import lid, lot

ROOT = lid("oem", "P1")


async def test_ids_bound_for_one_node_travel_in_one_request() -> None:
    inputs = tuple((lid("ref", f"R{i}"), 10.0) for i in range(5))
    client = FakeNodeClient(
        [lot(ROOT, contents=None, inputs=inputs)] + [lot(i, contents=None) for i, _ in inputs]
    )
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "ref"), client)
    assert client.calls == [("oem", (ROOT,)), ("ref", tuple(i for i, _ in inputs))]
    assert set(graph.lots) == {ROOT} | {i for i, _ in inputs}


def slow_and_fast_branches() -> tuple[FakeNodeClient, str, str, str]:
    """The root's inputs at nodes "slow" and "fast"; the fast one's input at node "deep"."""
    slow, fast, deep = lid("slow", "S1"), lid("fast", "F1"), lid("deep", "D1")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((slow, 1), (fast, 1))),
            lot(slow, contents=None),
            lot(fast, contents=None, inputs=((deep, 1),)),
            lot(deep, contents=None),
        ]
    )
    return client, slow, fast, deep


async def hang() -> None:
    await asyncio.sleep(100)


async def test_a_fast_branch_goes_deeper_while_a_slow_branch_is_still_answering() -> None:
    client, slow, fast, deep = slow_and_fast_branches()
    deep_asked = asyncio.Event()

    async def deep_called() -> None:
        deep_asked.set()

    client.before = {"slow": lambda: wait_for(deep_asked), "deep": deep_called}
    # Level-by-level dispatch would wait for "slow" before asking "deep", and time out here.
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "slow", "fast", "deep"), client)
    assert set(graph.lots) == {ROOT, slow, fast, deep}


def siblings_feeding_one_node() -> tuple[FakeNodeClient, str, str]:
    """The root's two inputs, at nodes na and nb, each consume a lot of node "shared"."""
    a, b, x, y = lid("na", "A"), lid("nb", "B"), lid("shared", "X"), lid("shared", "Y")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((a, 1), (b, 1))),
            lot(a, contents=None, inputs=((x, 1),)),
            lot(b, contents=None, inputs=((y, 1),)),
            lot(x, contents=None),
            lot(y, contents=None),
        ]
    )
    return client, x, y


async def test_inputs_that_become_ready_together_are_coalesced_per_node() -> None:
    client, x, y = siblings_feeding_one_node()
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    # Both nodes answer in the same turn of the loop, once released.
    client.before = {"na": hold, "nb": hold}
    asyncio.get_running_loop().call_later(0.05, release.set)
    registry = registry_of("oem", "na", "nb", "shared")
    await asyncio.wait_for(trace_upstream(ROOT, 5, registry, client), 5)
    shared_calls = [ids for node, ids in client.calls if node == "shared"]
    assert len(shared_calls) == 1
    assert sorted(shared_calls[0]) == sorted([x, y])


async def test_ids_wait_for_sibling_answers_still_in_flight_and_share_a_request() -> None:
    client, x, y = siblings_feeding_one_node()
    release = asyncio.Event()

    async def hold() -> None:
        await release.wait()

    # nb answers 50 ms after na: na's input waits for it (the window is far longer).
    client.before = {"nb": hold}
    asyncio.get_running_loop().call_later(0.05, release.set)
    guard = NodeGuards(ResiliencePolicy(coalesce_window=30.0)).trace()
    registry = registry_of("oem", "na", "nb", "shared")
    await asyncio.wait_for(trace_upstream(ROOT, 5, registry, client, guard=guard), 5)
    shared_calls = [sorted(ids) for node, ids in client.calls if node == "shared"]
    assert shared_calls == [sorted([x, y])]


async def test_ids_revealed_by_a_slow_answer_wait_longer_for_their_siblings() -> None:
    client, x, y = siblings_feeding_one_node()

    async def answer_after(seconds: float) -> None:
        await asyncio.sleep(seconds)

    # na takes 0.2 s, so its input may wait 0.2 s (share 1.0) for nb, which answers at
    # 0.3 s: far beyond the 1 ms window, and still one request to "shared".
    client.before = {"na": lambda: answer_after(0.2), "nb": lambda: answer_after(0.3)}
    policy = ResiliencePolicy(coalesce_window=0.001, coalesce_share=1.0)
    registry = registry_of("oem", "na", "nb", "shared")
    guard = NodeGuards(policy).trace()
    await asyncio.wait_for(trace_upstream(ROOT, 5, registry, client, guard=guard), 5)
    shared_calls = [sorted(ids) for node, ids in client.calls if node == "shared"]
    assert shared_calls == [sorted([x, y])]


async def test_a_slow_sibling_holds_ids_back_no_longer_than_the_window() -> None:
    client, x, y = siblings_feeding_one_node()
    x_asked = asyncio.Event()

    async def x_called() -> None:
        if any(x in ids for node, ids in client.calls if node == "shared"):
            x_asked.set()

    # nb answers only once na's input has been asked for: possible only if the window
    # ends while nb is still in flight.
    client.before = {"nb": lambda: wait_for(x_asked), "shared": x_called}
    guard = NodeGuards(ResiliencePolicy(coalesce_window=0.02)).trace()
    registry = registry_of("oem", "na", "nb", "shared")
    graph = await asyncio.wait_for(trace_upstream(ROOT, 5, registry, client, guard=guard), 5)
    assert {x, y} <= set(graph.lots)
    assert [ids for node, ids in client.calls if node == "shared"] == [(x,), (y,)]


async def test_lots_beyond_the_depth_limit_become_depth_gaps_without_a_request() -> None:
    r, m = lid("ref", "R1"), lid("mine", "M1")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((r, 1),)),
            lot(r, contents=None, inputs=((m, 1),)),
            lot(m, contents=None),
        ]
    )
    graph = await trace_upstream(ROOT, 1, registry_of("oem", "ref", "mine"), client)
    assert set(graph.lots) == {ROOT, r}
    assert graph.unopened[m].reason is GapReason.DEPTH_LIMIT
    assert all(node != "mine" for node, _ in client.calls)


async def test_an_unregistered_owner_becomes_a_gap_without_a_request() -> None:
    stranger = lid("stranger", "S1")
    client = FakeNodeClient([lot(ROOT, contents=None, inputs=((stranger, 1),))])
    graph = await trace_upstream(ROOT, 5, registry_of("oem"), client)
    assert graph.unopened[stranger].reason is GapReason.UNKNOWN_OWNER
    assert "'stranger' is not in the registry" in graph.unopened[stranger].detail
    assert [node for node, _ in client.calls] == ["oem"]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (NodeUnreachable, GapReason.UNREACHABLE),
        (NodeTimedOut, GapReason.TIMEOUT),
        (InvalidNodeAnswer, GapReason.INVALID_RESPONSE),
        (NodeWithheld, GapReason.WITHHELD),
    ],
)
async def test_a_failing_node_becomes_gaps_while_other_branches_complete(
    failure: type[NodeCallError], reason: GapReason
) -> None:
    bad, good, mine = lid("bad", "B1"), lid("good", "G1"), lid("mine", "M1")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((bad, 1), (good, 1))),
            lot(good, contents=None, inputs=((mine, 1),)),
            lot(mine, contents=None),
        ]
    )
    client.failures["bad"] = failure("node bad: it went wrong")
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "bad", "good", "mine"), client)
    assert graph.unopened[bad].reason is reason
    assert graph.unopened[bad].detail == "node bad: it went wrong"
    assert set(graph.lots) == {ROOT, good, mine}


async def test_a_malformed_record_is_a_gap_for_its_lot_and_the_batch_beside_it_opens() -> None:
    r1, r2, r3, deep = lid("ref", "R1"), lid("ref", "R2"), lid("ref", "R3"), lid("mine", "M1")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((r1, 1), (r2, 1), (r3, 1))),
            lot(r1, contents=None),
            lot(r2, contents=None, inputs=((deep, 1),)),
            lot(r3, contents=None),
            lot(deep, contents=None),
        ]
    )
    client.malformed[r1] = "node ref, lot R1: Co fraction 1.5 is not a fraction"
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "ref", "mine"), client)
    assert ("ref", (r1, r2, r3)) in client.calls  # one batch
    assert set(graph.unopened) == {r1}
    assert graph.unopened[r1].reason is GapReason.INVALID_RESPONSE
    assert graph.unopened[r1].detail == "node ref, lot R1: Co fraction 1.5 is not a fraction"
    assert set(graph.lots) == {ROOT, r2, r3, deep}  # and the sound lots' inputs are followed


async def test_a_lot_its_owner_does_not_know_is_a_not_found_gap() -> None:
    ghost = lid("ref", "GHOST")
    client = FakeNodeClient([lot(ROOT, contents=None, inputs=((ghost, 1),))])
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "ref"), client)
    assert graph.unopened[ghost].reason is GapReason.NOT_FOUND


async def test_a_cycle_across_organisations_is_fetched_once_and_ends() -> None:
    a, b = lid("na", "A"), lid("nb", "B")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((a, 1),)),
            lot(a, contents=None, inputs=((b, 1),)),
            lot(b, contents=None, inputs=((a, 1),)),
        ]
    )
    graph = await trace_upstream(ROOT, 50, registry_of("oem", "na", "nb"), client)
    assert set(graph.lots) == {ROOT, a, b}
    assert [ids for _, ids in client.calls].count((a,)) == 1


async def test_a_lot_reached_again_by_a_shorter_path_opens_its_inputs() -> None:
    # ROOT -> A -> B -> C -> M and ROOT -> C: with depth 2, M is reachable through ROOT -> C.
    a, b, c, m = lid("na", "A"), lid("na", "B"), lid("nc", "C"), lid("mine", "M")
    client = FakeNodeClient(
        [
            lot(ROOT, contents=None, inputs=((a, 1), (c, 1))),
            lot(a, contents=None, inputs=((b, 1),)),
            lot(b, contents=None, inputs=((c, 1),)),
            lot(c, contents=None, inputs=((m, 1),)),
            lot(m, contents=None),
        ]
    )
    graph = await trace_upstream(ROOT, 2, registry_of("oem", "na", "nc", "mine"), client)
    assert m in graph.lots


async def test_cancelling_a_trace_while_ids_wait_for_a_sibling_is_a_clean_cancel() -> None:
    client, *_ = slow_and_fast_branches()
    fast_answered = asyncio.Event()

    async def answer_fast() -> None:
        asyncio.get_running_loop().call_soon(fast_answered.set)

    client.before = {"slow": hang, "fast": answer_fast}
    guard = NodeGuards(ResiliencePolicy(coalesce_window=1.0)).trace()
    registry = registry_of("oem", "slow", "fast", "deep")
    trace = asyncio.create_task(trace_upstream(ROOT, 5, registry, client, guard=guard))
    await wait_for(fast_answered)
    await asyncio.sleep(0.05)  # deep is queued now, waiting for the slow sibling
    trace.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trace
    assert [node for node, _ in client.calls] == ["oem", "slow", "fast"]


async def test_ids_waiting_for_a_sibling_past_the_deadline_become_timeout_gaps() -> None:
    client, slow, fast, deep = slow_and_fast_branches()

    client.before = {"slow": hang}
    policy = ResiliencePolicy(trace_deadline=0.3, coalesce_window=1.0)
    registry = registry_of("oem", "slow", "fast", "deep")
    graph = await asyncio.wait_for(
        trace_upstream(ROOT, 5, registry, client, guard=NodeGuards(policy).trace()), 5
    )
    assert set(graph.lots) == {ROOT, fast}
    assert {i: u.reason for i, u in graph.unopened.items()} == {
        slow: GapReason.TIMEOUT,
        deep: GapReason.TIMEOUT,
    }


async def test_a_batch_larger_than_a_node_accepts_is_split() -> None:
    inputs = tuple((lid("ref", f"R{i}"), 1.0) for i in range(2500))
    client = FakeNodeClient(
        [lot(ROOT, contents=None, inputs=inputs)] + [lot(i, contents=None) for i, _ in inputs]
    )
    graph = await trace_upstream(ROOT, 5, registry_of("oem", "ref"), client)
    assert sorted(len(ids) for node, ids in client.calls if node == "ref") == [500, 1000, 1000]
    assert len(graph.lots) == 2501
    assert not graph.unopened


async def test_every_grant_for_a_lot_is_forwarded_not_only_the_first() -> None:
    client, x, y = siblings_feeding_one_node()
    a, b = lid("na", "A"), lid("nb", "B")
    # Both na and nb consume x: na (hostile, answering first) with a bogus grant.
    client.lots[a] = replace(lot(a, contents=None), inputs=(TracedInput(x, "shared", 1, "bad"),))
    client.lots[b] = replace(
        lot(b, contents=None),
        inputs=(TracedInput(x, "shared", 1, "good"), TracedInput(y, "shared", 1, "good")),
    )
    registry = registry_of("oem", "na", "nb", "shared")
    await trace_upstream(
        ROOT, 5, registry, client, mint_token=lambda org: {"Authorization": f"for-{org}"}
    )
    [(node, ids)] = [call for call in client.calls if call[0] == "shared"]
    credential = client.credentials[client.calls.index((node, ids))]
    assert credential is not None
    assert sorted(credential.grants) == ["bad", "good"]
    assert credential.headers == {"Authorization": "for-shared"}


async def test_a_batch_whose_grants_would_not_fit_one_request_is_split() -> None:
    """Four lots, each opened by its own 1 MiB grant: 4 MiB of grants do not fit the
    3 MiB a request carries (node_api.GRANT_BYTES_PER_REQUEST), two of them do."""
    refs = [lid("ref", f"R{i}") for i in range(4)]
    big = [f"grant-{i}-" + "x" * (1024 * 1024) for i in range(4)]
    root = replace(
        lot(ROOT, contents=None),
        inputs=tuple(TracedInput(r, "ref", 1.0, g) for r, g in zip(refs, big, strict=True)),
    )
    client = FakeNodeClient([root, *(lot(r, contents=None) for r in refs)])
    graph = await trace_upstream(
        ROOT, 5, registry_of("oem", "ref"), client, mint_token=lambda org: {}
    )
    assert set(graph.lots) == {ROOT, *refs}
    asked = [ids for node, ids in client.calls if node == "ref"]
    assert sorted(len(ids) for ids in asked) == [2, 2]
    sent = [c.grants for c in client.credentials if c is not None and c.grants]
    assert all(sum(map(len, grants)) <= 3 * 1024 * 1024 for grants in sent)


async def test_a_grant_for_an_input_carries_the_chain_of_its_consuming_lot_only() -> None:
    """x's grant rests on the grant that opened a, not on b's."""
    client, x, y = siblings_feeding_one_node()
    a, b = lid("na", "A"), lid("nb", "B")
    client.lots[ROOT] = replace(
        client.lots[ROOT], inputs=(TracedInput(a, "na", 1, "g-a"), TracedInput(b, "nb", 1, "g-b"))
    )
    client.lots[a] = replace(client.lots[a], inputs=(TracedInput(x, "shared", 1, "g-x"),))
    client.lots[b] = replace(client.lots[b], inputs=(TracedInput(y, "shared", 1, "g-y"),))
    await trace_upstream(
        ROOT, 5, registry_of("oem", "na", "nb", "shared"), client, mint_token=lambda org: {}
    )
    by_ids = {
        ids: c.grants
        for (node, ids), c in zip(client.calls, client.credentials, strict=True)
        if node == "shared" and c is not None
    }
    for ids, grants in by_ids.items():
        expected = {x: {"g-x", "g-a"}, y: {"g-y", "g-b"}}
        assert set(grants) == set().union(*(expected[i] for i in ids))
