"""The node's GraphQL schema: batched lot look-ups under the node's own policy.

What is given of each lot, and why, is decided in :mod:`oretrail.node.lots`; this
module renders it. A withheld field is null with a WITHHELD error (node.types).
"""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.domain.model import parse_lot_id
from oretrail.errors import InvalidInput, InvalidLotId
from oretrail.node.lots import (
    MAX_IDS_PER_REQUEST,
    Decision,
    NodeContext,
    PresentedGrant,
    answer_lots,
    check_batch,
    log_decisions,
)
from oretrail.node.types import (
    ConsumerType,
    ContinuationType,
    GrantInput,
    LotAnswer,
    LotsResult,
    OrganisationType,
    OutputsAnswer,
    QuantityType,
    ShipmentType,
    withheld,
)

__all__ = ["MAX_IDS_PER_REQUEST", "NodeContext", "build_node_schema"]


def _check_batch(ids: Sequence[object], grants: Sequence[object] = ()) -> None:
    try:
        check_batch(ids, grants)
    except InvalidInput as exc:
        raise as_graphql_error(exc) from None


@strawberry.type
class Query:
    @strawberry.field(description="Who this node serves.")
    async def organisation(self, info: Info[NodeContext, None]) -> OrganisationType:
        org = await info.context.store.organisation()
        return OrganisationType(
            id=org.id, name=org.name, roles=[str(r) for r in org.roles], country=org.country
        )

    @strawberry.field(description="The lots with these ids, or why each one is not given.")
    async def lots(
        self,
        info: Info[NodeContext, None],
        ids: list[strawberry.ID],
        grants: list[GrantInput] | None = None,
    ) -> LotsResult:
        _check_batch(ids, grants or ())
        outcome = await answer_lots(
            info.context,
            ids,
            [PresentedGrant(g.grant, g.parent_token) for g in grants or ()],
        )
        return LotsResult(
            answers=[LotAnswer.of(given) for given in outcome.answers],
            continuations=[
                ContinuationType(
                    owner=c.owner, lots=[strawberry.ID(i) for i in c.lots], grant=c.grant
                )
                for c in outcome.continuations
            ],
        )

    @strawberry.field(
        description="For each id, our lots that consumed it and where we shipped "
        "it. Answered to our organisation, auditors, and the ids' own owner."
    )
    async def outputs(
        self, info: Info[NodeContext, None], ids: list[strawberry.ID]
    ) -> list[OutputsAnswer] | None:
        _check_batch(ids)
        ctx = info.context
        if not await _may_see_outputs(ctx, ids):
            await log_decisions(
                ctx, "outputs", [Decision(i, "WITHHELD", [], [], "outputs") for i in ids]
            )
            raise withheld("outputs")
        consumers = await ctx.store.consumers(ids)
        shipments = await ctx.store.shipments(ids)
        await log_decisions(ctx, "outputs", [Decision(i, "FOUND", [], ["outputs"]) for i in ids])
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

    @strawberry.field(
        description="Ids of the lots produced at one of our facilities "
        "(own organisation and auditors only)."
    )
    async def lots_at(
        self, info: Info[NodeContext, None], facility: strawberry.ID
    ) -> list[strawberry.ID] | None:
        ctx = info.context
        if not await _may_see_outputs(ctx, []):
            raise withheld("outputs")
        return [strawberry.ID(i) for i in await ctx.store.lots_at(facility)]


async def _may_see_outputs(ctx: NodeContext, ids: Sequence[str]) -> bool:
    """Our own organisation, auditors, and a supplier asking where its own lots went."""
    org = (await ctx.store.organisation()).id
    if ctx.principal.org == org or "AUDITOR" in ctx.principal.roles:
        return True
    owners = set()
    for lot_id in ids:
        try:
            owners.add(parse_lot_id(lot_id).org)
        except InvalidLotId:
            return False
    return owners == {ctx.principal.org}


def build_node_schema(*, dev: bool = False) -> strawberry.Schema:
    return build_schema(Query, dev=dev)
