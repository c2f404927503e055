"""Downstream (exposure) trace: from a lot forward to the products that contain it.

A lot's owner knows which of its own lots consumed it and whom it shipped it to;
each customer knows which of its lots consumed it. Each level costs two batched
rounds: owners first, then the customers they named.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from oretrail.config import Registry
from oretrail.domain.lotgraph import GapReason, Unopened
from oretrail.domain.model import parse_lot_id
from oretrail.errors import InvalidLotId, NodeCallError
from oretrail.gateway.node_client import NodeClient, NodeCredential, OutputsReply

__all__ = ["Exposure", "trace_downstream"]


@dataclass(slots=True)
class Exposure:
    start: list[str]
    products: list[str] = field(default_factory=list)
    reached: dict[str, int] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    gaps: list[Unopened] = field(default_factory=list)


async def trace_downstream(
    start: list[str],
    max_depth: int,
    registry: Registry,
    client: NodeClient,
    mint_token: Callable[[str], Mapping[str, str]] | None = None,
) -> Exposure:
    """Follow consumption forward from ``start`` for at most ``max_depth`` hops."""
    result = Exposure(start=list(start))
    frontier = list(dict.fromkeys(start))
    for lot_id in frontier:
        result.reached[lot_id] = 0
    for depth in range(1, max_depth + 1):
        if not frontier:
            break
        consumers = await _consumers_of(frontier, registry, client, result, mint_token)
        next_frontier: list[str] = []
        unanswered = {gap.lot for gap in result.gaps}  # not products: we could not ask
        for lot_id in frontier:
            found = consumers.get(lot_id, [])
            if not found and lot_id not in result.start and lot_id not in unanswered:
                result.products.append(lot_id)
            for consumer in found:
                result.edges.append((lot_id, consumer))
                if consumer not in result.reached:
                    result.reached[consumer] = depth
                    next_frontier.append(consumer)
        frontier = next_frontier
    for lot_id in frontier:
        result.gaps.append(
            Unopened(
                lot_id,
                _owner(lot_id),
                GapReason.DEPTH_LIMIT,
                f"beyond the depth limit of {max_depth} hops",
            )
        )
    return result


async def _consumers_of(
    ids: list[str],
    registry: Registry,
    client: NodeClient,
    result: Exposure,
    mint_token: Callable[[str], Mapping[str, str]] | None,
) -> dict[str, list[str]]:
    consumers: dict[str, list[str]] = defaultdict(list)
    by_owner: dict[str, list[str]] = defaultdict(list)
    for lot_id in ids:
        by_owner[_owner(lot_id)].append(lot_id)
    customers: dict[str, list[str]] = defaultdict(list)
    for owner, replies in (await _ask(by_owner, registry, client, result, mint_token)).items():
        for reply in replies.values():
            consumers[reply.id].extend(reply.consumers)
            for org in dict.fromkeys(reply.shipped_to):
                if org != owner:
                    customers[org].append(reply.id)
    for replies in (await _ask(customers, registry, client, result, mint_token)).values():
        for reply in replies.values():
            consumers[reply.id].extend(c for c in reply.consumers if c not in consumers[reply.id])
    return consumers


async def _ask(
    batches: dict[str, list[str]],
    registry: Registry,
    client: NodeClient,
    result: Exposure,
    mint_token: Callable[[str], Mapping[str, str]] | None,
) -> dict[str, dict[str, OutputsReply]]:
    """One outputs(ids:) call per organisation, all at once; failures become gaps."""

    async def one(org: str, ids: list[str]) -> tuple[str, dict[str, OutputsReply] | None]:
        if org not in registry.participants:
            result.gaps.extend(
                Unopened(
                    i, org, GapReason.UNKNOWN_OWNER, f"organisation {org!r} is not in the registry"
                )
                for i in ids
            )
            return org, None
        try:
            credential = None if mint_token is None else NodeCredential(mint_token(org))
            return org, await client.fetch_outputs(registry.get(org), ids, credential)
        except NodeCallError as exc:
            result.gaps.extend(Unopened(i, org, GapReason(exc.reason), exc.detail) for i in ids)
            return org, None

    answers = await asyncio.gather(*(one(org, ids) for org, ids in batches.items()))
    return {org: replies for org, replies in answers if replies is not None}


def _owner(lot_id: str) -> str:
    try:
        return parse_lot_id(lot_id).org
    except InvalidLotId:
        return ""
