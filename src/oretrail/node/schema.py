"""The node's GraphQL schema: batched lot look-ups under the node's own policy.

What is given of each lot, and why, is decided in :mod:`oretrail.node.lots`; this
module renders it. A withheld field is null with a WITHHELD error (node.types).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.auth.policy import Relation
from oretrail.domain.model import Shipment, parse_lot_id
from oretrail.errors import Forbidden, InvalidInput, InvalidLotId, OretrailError
from oretrail.node.lots import (
    MAX_GRANTS_PER_REQUEST,
    MAX_IDS_PER_REQUEST,
    Decision,
    NodeContext,
    answer_lots,
    check_batch,
    log_decisions,
)
from oretrail.node.types import (
    ConsumerType,
    ContinuationType,
    LotAnswer,
    LotsResult,
    OrganisationType,
    OutputsAnswer,
    QuantityType,
    ShipmentType,
    withheld,
)
from oretrail.store.seed import FACILITY_PREFIX

__all__ = ["MAX_IDS_PER_REQUEST", "NodeContext", "build_node_schema"]


def _check_batch(ids: Sequence[object], grants: Sequence[object] = ()) -> None:
    try:
        check_batch(ids, grants)
    except InvalidInput as exc:
        raise as_graphql_error(exc) from None


IdsArg = Annotated[
    list[strawberry.ID],
    strawberry.argument(
        description="Lot ids, urn:oretrail:lot:<organisation>:<local-id>; at most "
        f"{MAX_IDS_PER_REQUEST} per request."
    ),
]


@strawberry.type(
    description="A participant's node. Every request carries the caller's signed request "
    "and comes from the authenticated gateway (DESIGN Node API)."
)
class Query:
    @strawberry.field(description="Who this node serves.")
    async def organisation(self, info: Info[NodeContext, None]) -> OrganisationType:
        org = await info.context.store.organisation()
        await log_decisions(info.context, "organisation", [])
        return OrganisationType(
            id=org.id, name=org.name, roles=[str(r) for r in org.roles], country=org.country
        )

    @strawberry.field(description="The lots with these ids, or why each one is not given.")
    async def lots(
        self,
        info: Info[NodeContext, None],
        ids: IdsArg,
        grants: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Continuation grants (compact JWS) that open lots beyond the "
                f"request's roots; at most {MAX_GRANTS_PER_REQUEST}."
            ),
        ] = None,
    ) -> LotsResult:
        _check_batch(ids, grants or ())
        try:
            outcome = await answer_lots(info.context, ids, grants or [])
        except OretrailError as exc:
            raise as_graphql_error(exc) from None
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
        description="For each id, our lots that consumed it and, where our policy gives "
        "the customers group, whom we shipped it (or, to its supplier, the lots made from "
        "it) to. Exposure requests only, for roots of the request that the caller's "
        "organisation owns and shipped to us, or our own."
    )
    async def outputs(
        self, info: Info[NodeContext, None], ids: IdsArg
    ) -> list[OutputsAnswer] | None:
        _check_batch(ids)
        ctx = info.context
        refusal = await _outputs_refusal(ctx, ids)
        if refusal is not None:
            await log_decisions(
                ctx, "outputs", [Decision(i, "WITHHELD", [], [], str(refusal)) for i in ids]
            )
            if isinstance(refusal, Forbidden):
                raise as_graphql_error(refusal)
            raise withheld("outputs")
        org = ctx.authority.org
        relations = {Relation.SELF} if ctx.principal.org == org else {Relation.SUPPLIER}
        granted = ctx.policy.granted(relations, ctx.principal.org, ctx.principal.roles)
        consumers = await ctx.store.consumers(ids)
        shipments: dict[str, list[Shipment]] = {}
        if "customers" in granted:
            if Relation.SELF in relations:
                shipments = await ctx.store.shipments(ids)
            else:
                # To a supplier: where our lots made from its lot went.
                made = {c.consumer: lot_id for lot_id, cs in consumers.items() for c in cs}
                for consumer, sent in (await ctx.store.shipments(list(made))).items():
                    shipments.setdefault(made[consumer], []).extend(sent)
        await log_decisions(
            ctx,
            "outputs",
            [
                Decision(
                    i, "FOUND", sorted(relations), sorted(granted & {"customers"}) or ["outputs"]
                )
                for i in ids
            ],
        )
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
        "(exposure requests of our own organisation naming the facility as a root)."
    )
    async def lots_at(
        self,
        info: Info[NodeContext, None],
        facility: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="Facility id, urn:oretrail:facility:<organisation>:<local-id>."
            ),
        ],
    ) -> list[strawberry.ID] | None:
        ctx = info.context
        principal = ctx.principal
        if (
            principal.op != "exposure"
            or principal.org != ctx.authority.org
            or (facility not in principal.request.context.roots)
        ):
            await log_decisions(
                ctx, "lotsAt", [Decision(facility, "WITHHELD", [], [], "not our own exposure root")]
            )
            raise withheld("outputs")
        lots = [strawberry.ID(i) for i in await ctx.store.lots_at(facility)]
        await log_decisions(ctx, "lotsAt", [Decision(facility, "FOUND", ["self"], ["identity"])])
        return lots


async def _outputs_refusal(ctx: NodeContext, ids: Sequence[str]) -> Exception | str | None:
    """Why ``outputs`` is not answered for ``ids``, or None (DESIGN.md, Trust 3).

    Only for exposure requests; each asked lot either our own lot asked by our own
    organisation, or a lot of the caller's organisation that our records show we
    consumed (the caller shipped it to us); and each a root of the request, or a lot
    of the caller's own organisation when the request's roots name a facility of
    that organisation (its lots there, listed by its own node). Beyond the first hop
    exposure needs forward grants, which do not exist yet: those are refused.
    """
    principal = ctx.principal
    if principal.op != "exposure":
        return Forbidden(f"outputs answers exposure requests, not {principal.op!r}")
    org = ctx.authority.org
    roots = set(principal.request.context.roots)
    own_facility = any(r.startswith(f"{FACILITY_PREFIX}{principal.org}:") for r in roots)
    consumed = await ctx.store.consumers(list(ids))
    for lot_id in ids:
        try:
            owner = parse_lot_id(lot_id).org
        except InvalidLotId:
            return "not a lot id"
        if lot_id not in roots and not (own_facility and owner == principal.org):
            return "not a root of the request"
        if owner == org and principal.org == org:
            continue
        if owner != principal.org or not consumed.get(lot_id):
            return "the caller did not ship this lot to us"
    return None


def build_node_schema(*, dev: bool = False) -> strawberry.Schema:
    return build_schema(Query, dev=dev)
