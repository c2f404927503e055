"""The upstream trace planner: asynchronous per branch, batched per node.

As soon as a node answers, the inputs it revealed are queued for their owners. A
queue is sent as one ``lots(ids:)`` call once no request that could still add ids
to it is in flight (none at a shallower depth than its ids), or once its ids have
waited their patience: ``coalesce_share`` of the time the request that revealed
them took, and at least ``coalesce_window``. Siblings answering apart therefore
share one request per node, while a slow node holds the branches beside it back
by at most that share of their own hop: the wall time of a trace follows its
critical path (the slowest chain of nodes), not the number of lots.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping

from oretrail.auth.grants import GRANT_REFERENCE
from oretrail.auth.tokens import token_hash
from oretrail.config import Registry
from oretrail.domain.lotgraph import GapReason, LotGraph, Unopened
from oretrail.domain.model import parse_lot_id
from oretrail.errors import InvalidLotId, NodeCallError, UnknownParticipant
from oretrail.gateway.node_client import (
    AnswerSink,
    GrantPass,
    LotReply,
    NodeClient,
    NodeCredential,
)
from oretrail.gateway.resilience import NodeGuards, TraceGuard
from oretrail.node_api import (
    GRANT_BYTES_PER_REQUEST,
    MAX_GRANTS_PER_REQUEST,
    MAX_IDS_PER_REQUEST,
)

__all__ = ["TokenMinter", "trace_upstream"]

# What a grant named by reference costs in a request ("#" and a 43-character hash,
# quoted, with a comma).
REFERENCE_BYTES = 47

# The headers of one request to one organisation's node: the caller's signed request
# and certificate, and a fresh gateway token for that node.
TokenMinter = Callable[[str], Mapping[str, str]]


async def trace_upstream(
    root: str,
    max_depth: int,
    registry: Registry,
    client: NodeClient,
    *,
    mint_token: TokenMinter | None = None,
    guard: TraceGuard | None = None,
    answers: AnswerSink | None = None,
) -> LotGraph:
    """Discover the lot graph above ``root``, down to ``max_depth`` input hops.

    With ``mint_token`` every request carries the caller's signed request and a fresh
    gateway token, and every lot reached through an input link carries the grant its
    consumer's node signed, with the grants its chain rests on. ``answers`` receives
    every node answer received whole (the trace's evidence, DESIGN.md Trust 7).
    """
    planner = _Planner(
        root,
        max_depth,
        registry,
        client,
        mint_token=mint_token,
        guard=guard or NodeGuards().trace(),
        answers=answers,
    )
    return await planner.run()


class _Planner:
    def __init__(
        self,
        root: str,
        max_depth: int,
        registry: Registry,
        client: NodeClient,
        *,
        mint_token: TokenMinter | None,
        guard: TraceGuard,
        answers: AnswerSink | None = None,
    ) -> None:
        self.graph = LotGraph(root=root)
        self.answers = answers
        self.guard = guard
        self.mint_token = mint_token
        # Every grant seen for a lot: a hostile node's bogus grant must not hide a good one.
        self.grants: dict[str, list[GrantPass]] = defaultdict(list)
        # Chains by the grants that opened a lot (auth.grants: each rests on its parents).
        self.chains: dict[tuple[tuple[str, int], ...], tuple[str, ...]] = {}
        # Per node, the grants it has verified in this trace; and their references.
        self.sent: dict[str, set[str]] = defaultdict(set)
        self.references: dict[str, str] = {}
        self.max_depth = max_depth
        self.registry = registry
        self.client = client
        self.depth: dict[str, int] = {}
        self.requested: set[str] = set()
        self.queue: dict[str, list[str]] = defaultdict(list)
        # Per queued owner: the shallowest depth of its ids, and when the first was queued.
        self.queue_depth: dict[str, int] = {}
        # Per queued owner: when its ids have waited long enough for their siblings.
        self.send_by: dict[str, float] = {}
        # How long ids revealed by the answer being read may wait for sibling answers.
        self.patience = guard.guards.policy.coalesce_window
        # Depths of the requests in flight: answers from these may reveal more ids.
        self.in_flight: Counter[int] = Counter()
        self.flush_pending = False
        self.wake_at: float | None = None
        self.wake_task: asyncio.Task[None] | None = None
        self.tasks: asyncio.TaskGroup | None = None

    async def run(self) -> LotGraph:
        try:
            # Every call is bounded by the deadline already; this is the backstop.
            async with asyncio.timeout(self.guard.remaining() + 1.0), asyncio.TaskGroup() as tasks:
                self.tasks = tasks
                self.reach(self.graph.root, 0)
        except TimeoutError:
            for lot_id in self.requested - set(self.graph.lots) - set(self.graph.unopened):
                self.gap(
                    lot_id,
                    parse_lot_id(lot_id).org,
                    GapReason.TIMEOUT,
                    "the trace deadline passed while this lot was being asked for",
                )
        return self.graph

    def reach(self, lot_id: str, depth: int) -> None:
        """Note that ``lot_id`` is reached at ``depth``; request it if it is new and in range."""
        known = self.depth.get(lot_id)
        if known is not None and known <= depth:
            return
        self.depth[lot_id] = depth
        opened = self.graph.lots.get(lot_id)
        if opened is not None:
            # Reached again by a shorter path: its inputs may now be within range.
            for link in opened.inputs:
                self.reach(link.lot, depth + 1)
            return
        if lot_id in self.requested:
            return
        try:
            owner = parse_lot_id(lot_id).org
        except InvalidLotId as exc:
            self.gap(
                lot_id, "", GapReason.INVALID_RESPONSE, f"a node gave a malformed input id: {exc}"
            )
            return
        if depth > self.max_depth:
            self.gap(
                lot_id,
                owner,
                GapReason.DEPTH_LIMIT,
                f"beyond the depth limit of {self.max_depth} hops",
            )
            return
        if owner not in self.registry.participants:
            self.gap(
                lot_id,
                owner,
                GapReason.UNKNOWN_OWNER,
                f"organisation {owner!r} is not in the registry",
            )
            return
        if len(self.requested) >= self.guard.guards.policy.max_lots:
            self.gap(
                lot_id,
                owner,
                GapReason.LOT_LIMIT,
                f"the trace reached its limit of {self.guard.guards.policy.max_lots} lots",
            )
            return
        self.graph.unopened.pop(lot_id, None)
        self.requested.add(lot_id)
        self.queue[owner].append(lot_id)
        self.queue_depth[owner] = min(depth, self.queue_depth.get(owner, depth))
        send_by = asyncio.get_running_loop().time() + self.patience
        self.send_by[owner] = min(send_by, self.send_by.get(owner, send_by))
        self.schedule_flush()

    def gap(self, lot_id: str, owner: str, reason: GapReason, detail: str) -> None:
        self.graph.unopened[lot_id] = Unopened(lot_id, owner, reason, detail)

    def schedule_flush(self) -> None:
        if not self.flush_pending:
            assert self.tasks is not None
            self.flush_pending = True
            self.tasks.create_task(self.flush())

    async def flush(self) -> None:
        # Yield once, so that answers arriving in the same loop turn share requests.
        await asyncio.sleep(0)
        self.flush_pending = False
        now = asyncio.get_running_loop().time()
        # Only answers at a shallower depth than a queue's ids could add to that queue.
        shallowest = min(self.in_flight, default=None)
        later = None
        for owner in list(self.queue):
            depth, send_by = self.queue_depth[owner], self.send_by[owner]
            if shallowest is None or shallowest >= depth or now >= send_by:
                ids = self.queue.pop(owner)
                del self.queue_depth[owner], self.send_by[owner]
                # A node refuses more ids than MAX_IDS_PER_REQUEST in one request.
                for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
                    for batch in self.fitting(owner, ids[start : start + MAX_IDS_PER_REQUEST]):
                        self.in_flight[depth] += 1
                        assert self.tasks is not None
                        self.tasks.create_task(self.fetch(owner, batch, depth))
            else:
                later = send_by if later is None else min(later, send_by)
        if later != self.wake_at:
            # One timer, for the queue whose window ends first; none when nothing waits.
            if self.wake_task is not None:
                self.wake_task.cancel()
            self.wake_at, self.wake_task = later, None
            if later is not None:
                assert self.tasks is not None
                self.wake_task = self.tasks.create_task(self.wake(later))

    async def wake(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
        self.wake_at, self.wake_task = None, None
        self.schedule_flush()

    async def fetch(self, owner: str, ids: list[str], depth: int) -> None:
        try:
            await self.ask(owner, ids)
        finally:
            self.in_flight[depth] -= 1
            if not self.in_flight[depth]:
                del self.in_flight[depth]
            # Not while the trace is being cancelled (deadline backstop, or the caller):
            # its task group takes no new tasks then.
            task = asyncio.current_task()
            if self.queue and not (task is not None and task.cancelling()):
                self.schedule_flush()

    async def ask(self, owner: str, ids: list[str]) -> None:
        credential: NodeCredential | None = None
        presented = self.grants_for(ids)
        # Grants this node already verified in an earlier request travel as references.
        known = self.sent[owner]
        wire = tuple(self.reference(g) if g in known else g for g in presented)

        async def attempt(timeout: float) -> dict[str, LotReply]:
            nonlocal credential
            if self.mint_token is not None:  # a fresh single-use gateway token every attempt
                credential = NodeCredential(self.mint_token(owner), wire, self.answers)
            return await self.client.fetch_lots(node, ids, credential, timeout)

        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            node = self.registry.get(owner)
            replies = await self.guard.call(owner, attempt)
            known.update(presented)
        except NodeCallError as exc:  # the call failed as a whole: each lot of it is a gap
            for lot_id in ids:
                self.gap(lot_id, owner, GapReason(exc.reason), exc.detail)
            return
        except UnknownParticipant as exc:  # pragma: no cover - reach() checked the registry
            for lot_id in ids:
                self.gap(lot_id, owner, GapReason.UNKNOWN_OWNER, str(exc))
            return
        policy = self.guard.guards.policy
        # No await below: the ids this answer reveals all get this patience.
        self.patience = max(policy.coalesce_window, policy.coalesce_share * (loop.time() - started))
        for lot_id in ids:
            # One reply per id, each the lot or its own typed gap: a bad lot sinks no other.
            reply = replies.get(lot_id) or LotReply.gap(
                lot_id, GapReason.INVALID_RESPONSE, f"{owner} gave no answer for {lot_id}"
            )
            if reply.lot is None:
                reason = reply.reason or GapReason.INVALID_RESPONSE
                self.gap(lot_id, owner, reason, reply.detail or f"{owner} did not give it")
                continue
            self.graph.lots[lot_id] = reply.lot
            chain = self.chain_of(lot_id)
            for link in reply.lot.inputs:
                # Every grant of the answer naming the input: the node may open it with
                # any of them, and the chain must then include the one it used.
                named = reply.grants.get(link.lot) or ((link.grant,) if link.grant else ())
                for grant in named:
                    self.grants[link.lot].append(GrantPass(link.lot, grant, chain))
                self.reach(link.lot, self.depth[lot_id] + 1)

    def chain_of(self, lot_id: str) -> tuple[str, ...]:
        """The grants that opened ``lot_id`` and every grant their chains rest on: what a
        grant for one of its inputs rests on. Lots opened by the same grants share one."""
        passes = self.grants.get(lot_id, ())
        # One grant may open lots of several consuming lots, each with its own chain;
        # chains are kept in self.chains, so their identity is stable.
        key = tuple((passed.grant, id(passed.chain)) for passed in passes)
        chain = self.chains.get(key)
        if chain is None:
            chain = tuple(dict.fromkeys(g for p in passes for g in (p.grant, *p.chain)))
            self.chains[key] = chain
        return chain

    def fitting(self, owner: str, ids: list[str]) -> list[list[str]]:
        """``ids`` in batches whose grants fit what a node reads in one request."""
        known = self.sent[owner]
        size = sum(
            REFERENCE_BYTES if grant in known else len(grant) for grant in self.grants_for(ids)
        )
        if len(ids) > 1 and size > GRANT_BYTES_PER_REQUEST:
            half = len(ids) // 2
            return [*self.fitting(owner, ids[:half]), *self.fitting(owner, ids[half:])]
        return [ids]

    def reference(self, grant: str) -> str:
        """A grant by its hash, for a node that verified it before (auth.grants)."""
        reference = self.references.get(grant)
        if reference is None:
            reference = self.references[grant] = GRANT_REFERENCE + token_hash(grant)
        return reference

    def grants_for(self, ids: list[str]) -> tuple[str, ...]:
        """The distinct grants that open ``ids`` and the chains they rest on, at most as
        many as a node accepts."""
        distinct: dict[str, None] = {}
        for lot_id in ids:
            for passed in self.grants.get(lot_id, ()):
                distinct.setdefault(passed.grant)
                for ancestor in passed.chain:
                    distinct.setdefault(ancestor)
        # Past the limit (a chain deeper and wider than any real one) the lots left
        # without their grants come back WITHHELD, each a typed gap.
        return tuple(distinct)[:MAX_GRANTS_PER_REQUEST]
