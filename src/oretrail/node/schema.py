"""The node's GraphQL schema: batched lot look-ups, outputs, and a self-description."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.domain.model import Certificate, parse_lot_id
from oretrail.errors import InvalidInput, InvalidLotId
from oretrail.node.types import (
    ConsumerType,
    FacilityType,
    LotAnswer,
    LotStatus,
    OrganisationType,
    OutputsAnswer,
    QuantityType,
    ShipmentType,
    lot_type,
)
from oretrail.store.port import GraphStore

__all__ = ["MAX_IDS_PER_REQUEST", "NodeContext", "build_node_schema"]

# One request may ask for this many ids; a trace batches far fewer per hop.
MAX_IDS_PER_REQUEST = 1000


@dataclass(slots=True)
class NodeContext:
    """Per-request context: the store this node serves from."""

    store: GraphStore


def _check_batch(ids: list[strawberry.ID]) -> None:
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise as_graphql_error(
            InvalidInput(f"ids holds {len(ids)} ids; at most {MAX_IDS_PER_REQUEST} per request")
        )


@strawberry.type
class Query:
    @strawberry.field(description="Who this node serves, and its facilities.")
    async def organisation(self, info: Info[NodeContext, None]) -> OrganisationType:
        store = info.context.store
        org = await store.organisation()
        facilities = list(await store.facilities())
        certificates = await store.certificates([f.id for f in facilities] + [org.id])
        return OrganisationType(
            id=org.id,
            name=org.name,
            roles=[str(r) for r in org.roles],
            country=org.country,
            facilities=[FacilityType.of(f, _about(certificates, f.id, org.id)) for f in facilities],
        )

    @strawberry.field(description="The lots with these ids, or why each one is not given.")
    async def lots(
        self, info: Info[NodeContext, None], ids: list[strawberry.ID]
    ) -> list[LotAnswer]:
        _check_batch(ids)
        store = info.context.store
        org = await store.organisation()
        answers: dict[str, LotAnswer] = {}
        wanted: list[strawberry.ID] = []
        for lot_id in ids:
            try:
                ref = parse_lot_id(lot_id)
            except InvalidLotId as exc:
                answers[lot_id] = LotAnswer(id=lot_id, status=LotStatus.INVALID_ID, detail=str(exc))
                continue
            if ref.org != org.id:
                answers[lot_id] = LotAnswer(
                    id=lot_id,
                    status=LotStatus.NOT_FOUND,
                    detail=f"lot belongs to {ref.org!r}, not to {org.id!r}",
                )
            else:
                wanted.append(lot_id)
        found = await store.lots(wanted)
        facilities = {f.id: f for f in await store.facilities()}
        certificates = await store.certificates(
            [*sorted({lot.facility for lot in found.values()}), org.id]
        )
        for lot_id in wanted:
            lot = found.get(lot_id)
            if lot is None:
                answers[lot_id] = LotAnswer(
                    id=lot_id, status=LotStatus.NOT_FOUND, detail=f"{org.id} holds no lot {lot_id}"
                )
            else:
                facility = FacilityType.of(
                    facilities[lot.facility], _about(certificates, lot.facility, org.id)
                )
                answers[lot_id] = LotAnswer(
                    id=lot_id, status=LotStatus.FOUND, lot=lot_type(lot, facility)
                )
        return [answers[lot_id] for lot_id in ids]

    @strawberry.field(description="For each id, our lots that consumed it and where we shipped it.")
    async def outputs(
        self, info: Info[NodeContext, None], ids: list[strawberry.ID]
    ) -> list[OutputsAnswer]:
        _check_batch(ids)
        store = info.context.store
        consumers = await store.consumers(ids)
        shipments = await store.shipments(ids)
        return [
            OutputsAnswer(
                id=lot_id,
                consumers=[
                    ConsumerType(
                        lot=strawberry.ID(c.consumer), quantity=QuantityType.of(c.quantity)
                    )
                    for c in consumers.get(lot_id, [])
                ],
                shipped_to=[
                    ShipmentType(
                        to=s.to_org, date=s.shipped_on, quantity=QuantityType.of(s.quantity)
                    )
                    for s in shipments.get(lot_id, [])
                ],
            )
            for lot_id in ids
        ]

    @strawberry.field(description="Ids of the lots produced at one of our facilities.")
    async def lots_at(
        self, info: Info[NodeContext, None], facility: strawberry.ID
    ) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in await info.context.store.lots_at(facility)]


def _about(certificates: list[Certificate], facility: str, org: str) -> list[Certificate]:
    """Certificates that speak for a facility: its own and its organisation's."""
    return [c for c in certificates if c.subject in (facility, org)]


def build_node_schema() -> strawberry.Schema:
    return build_schema(Query)
