"""Nodes for unit tests: seed files served as the node API's JSON, read by the real parser.

:class:`SeedNodeClient` answers ``lots(ids:)`` from loaded seed files in the shape a
node sends, lets a test corrupt that answer or delay it per organisation, and reads
it with the gateway's own :func:`parse_lots`, so the planner sees exactly what it
would see from a node that sent those bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from oretrail.config import Participant, Registry
from oretrail.domain.model import Facility, Lot, Quantity, parse_lot_id
from oretrail.gateway.node_client import (
    LotReply,
    NodeClient,
    NodeCredential,
    OutputsReply,
    parse_lots,
)
from oretrail.store.seed import SeedData

__all__ = ["SeedNodeClient", "lot_answer", "registry_of_seeds"]

Document = dict[str, Any]


def _quantity(quantity: Quantity) -> dict[str, Any]:
    return {"value": quantity.value, "unit": quantity.unit}


def _facility(facility: Facility | None) -> dict[str, Any] | None:
    if facility is None:
        return None
    return {
        "id": facility.id.rsplit(":", 1)[1],
        "name": facility.name,
        "kind": facility.kind,
        "country": facility.country,
        "region": facility.region,
        "latitude": facility.latitude,
        "longitude": facility.longitude,
        "artisanal": facility.artisanal,
        "cahra": facility.cahra,
        "activities": sorted(a.value for a in facility.activities or ()),
        "certificates": [],
    }


def lot_answer(lot: Lot, facility: Facility | None) -> Document:
    """One item of a ``lots`` answer giving ``lot`` whole, as a node with a permissive
    policy sends it."""
    contents = lot.contents
    return {
        "id": lot.id,
        "status": "FOUND",
        "detail": None,
        "lot": {
            "id": lot.id,
            "owner": lot.owner,
            "material": lot.material,
            "quantity": _quantity(lot.quantity),
            "producedAt": lot.produced_at.isoformat(),
            "custody": lot.custody.value,
            "contents": None
            if contents is None
            else [{"element": e, "fraction": f} for e, f in contents.items()],
            "recycledPreConsumer": lot.recycled_pre_consumer,
            "recycledPostConsumer": lot.recycled_post_consumer,
            "transit": [{"country": p.country, "region": p.region} for p in lot.transit],
            "facility": _facility(facility),
            "inputs": [
                {
                    "lot": link.lot,
                    "owner": parse_lot_id(link.lot).org,
                    "quantity": _quantity(link.quantity),
                }
                for link in lot.inputs
            ],
        },
    }


def registry_of_seeds(seeds: Mapping[str, SeedData]) -> Registry:
    """A registry listing the organisations of ``seeds``, at endpoints nothing calls."""
    return Registry(
        {
            org: Participant(
                org,
                seed.organisation.name,
                seed.organisation.roles,
                seed.organisation.country,
                f"http://127.0.0.1:1/{org}",
            )
            for org, seed in seeds.items()
        }
    )


class SeedNodeClient(NodeClient):
    """Every organisation's node, answering from its seed, through the real parser."""

    def __init__(self, seeds: Mapping[str, SeedData]) -> None:
        self.lots = {lot.id: lot for seed in seeds.values() for lot in seed.lots}
        self.facilities = {f.id: f for seed in seeds.values() for f in seed.facilities}
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        # Per organisation: run before answering (a delay), and edit the answer document.
        self.before: dict[str, Callable[[], Awaitable[None]]] = {}
        self.corrupt: dict[str, Callable[[Document], None]] = {}

    async def fetch_lots(
        self,
        node: Participant,
        ids: Sequence[str],
        credential: NodeCredential | None = None,
        timeout: float | None = None,
    ) -> dict[str, LotReply]:
        self.calls.append((node.id, tuple(ids)))
        hook = self.before.get(node.id)
        if hook is not None:
            await hook()
        answers = []
        for lot_id in ids:
            lot = self.lots.get(lot_id)
            if lot is None or lot.owner != node.id:
                answers.append({"id": lot_id, "status": "NOT_FOUND", "detail": "no such lot"})
            else:
                answers.append(lot_answer(lot, self.facilities.get(lot.facility)))
        document: Document = {"data": {"lots": {"answers": answers, "continuations": []}}}
        corrupt = self.corrupt.get(node.id)
        if corrupt is not None:
            corrupt(document)
        return parse_lots(node.id, ids, document)

    async def fetch_outputs(
        self, node: Participant, ids: Sequence[str], credential: NodeCredential | None = None
    ) -> dict[str, OutputsReply]:
        raise NotImplementedError("seed nodes answer lots only")

    async def fetch_lots_at(
        self, node: Participant, facility: str, credential: NodeCredential | None = None
    ) -> list[str]:
        raise NotImplementedError("seed nodes answer lots only")
