"""A fake NodeClient: serves traced lots from memory and records every call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from oretrail.config import Participant, Registry
from oretrail.domain.lotgraph import GapReason, TracedLot
from oretrail.domain.model import Role
from oretrail.errors import NodeCallError
from oretrail.gateway.node_client import LotReply, NodeCredential, OutputsReply


def registry_of(*orgs: str) -> Registry:
    return Registry(
        {
            org: Participant(org, org, (Role.REFINER,), "FI", f"http://127.0.0.1:1/{org}")
            for org in orgs
        }
    )


class FakeNodeClient:
    """Answers ``fetch_lots`` from a dict of lots; per-node hooks can delay or fail a call."""

    def __init__(self, lots: Sequence[TracedLot]) -> None:
        self.lots = {lot.id: lot for lot in lots}
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.before: dict[str, Callable[[], Awaitable[None]]] = {}
        self.failures: dict[str, NodeCallError] = {}
        # Fail only the first N calls to a node, then answer.
        self.fail_first: dict[str, tuple[int, NodeCallError]] = {}
        self.credentials: list[NodeCredential | None] = []
        # Lots whose record is malformed in the node's answer: a gap reply, as parse_lots gives.
        self.malformed: dict[str, str] = {}

    async def fetch_lots(
        self,
        node: Participant,
        ids: Sequence[str],
        credential: NodeCredential | None = None,
        timeout: float | None = None,
    ) -> dict[str, LotReply]:
        self.calls.append((node.id, tuple(ids)))
        self.credentials.append(credential)
        hook = self.before.get(node.id)
        if hook is not None:
            await hook()
        if node.id in self.failures:
            raise self.failures[node.id]
        if node.id in self.fail_first:
            remaining, error = self.fail_first[node.id]
            if remaining > 0:
                self.fail_first[node.id] = (remaining - 1, error)
                raise error
        replies = {}
        for lot_id in ids:
            lot = self.lots.get(lot_id)
            if lot_id in self.malformed:
                detail = self.malformed[lot_id]
                replies[lot_id] = LotReply.gap(lot_id, GapReason.INVALID_RESPONSE, detail)
                continue
            replies[lot_id] = (
                LotReply.opened(lot)
                if lot
                else LotReply.gap(lot_id, GapReason.NOT_FOUND, "no such lot")
            )
        return replies

    async def fetch_outputs(
        self, node: Participant, ids: Sequence[str], credential: NodeCredential | None = None
    ) -> dict[str, OutputsReply]:
        consumers = {
            i: tuple(
                lot.id
                for lot in self.lots.values()
                if lot.owner == node.id and any(link.lot == i for link in lot.inputs)
            )
            for i in ids
        }
        shipped = {
            i: tuple(
                sorted(
                    {
                        lot.owner
                        for lot in self.lots.values()
                        if any(link.lot == i for link in lot.inputs)
                    }
                    - {node.id}
                )
            )
            for i in ids
        }
        return {i: OutputsReply(i, consumers[i], shipped[i]) for i in ids}

    async def fetch_lots_at(
        self, node: Participant, facility: str, credential: NodeCredential | None = None
    ) -> list[str]:
        return []


async def wait_for(event: asyncio.Event, seconds: float = 2.0) -> None:
    await asyncio.wait_for(event.wait(), seconds)
