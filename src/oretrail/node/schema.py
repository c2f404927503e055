"""The node's GraphQL schema: batched lot look-ups under the node's own policy.

For every asked lot the node works out how the caller stands to it (its own lot,
shipped to it, reached through a valid chain of continuation grants, audited by
it), refuses lots with no such relation, grants field groups by its policy, signs
a continuation grant for every input it reveals, and logs what it gave and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.auth.access_log import AccessLog
from oretrail.auth.chain import NodeAuthority, Principal
from oretrail.auth.policy import FIELD_GROUPS, Policy, Relation
from oretrail.domain.model import Certificate, Lot, parse_lot_id
from oretrail.errors import InvalidInput, InvalidLotId, TokenRejected
from oretrail.node.types import (
    ConsumerType,
    GrantInput,
    LotAnswer,
    LotStatus,
    OrganisationType,
    OutputsAnswer,
    QuantityType,
    ShipmentType,
    lot_type,
    withheld,
)
from oretrail.store.port import GraphStore

__all__ = ["MAX_IDS_PER_REQUEST", "NodeContext", "build_node_schema"]

# One request may ask for this many ids; a trace batches far fewer per hop.
MAX_IDS_PER_REQUEST = 1000
DIRECT = frozenset(
    {Relation.SELF, Relation.CUSTOMER, Relation.DOWNSTREAM, Relation.AUDITOR, Relation.APPROVER}
)


@dataclass(slots=True)
class NodeContext:
    """Per-request context: the store, the verified principal, the node's authority."""

    store: GraphStore
    principal: Principal
    authority: NodeAuthority
    policy: Policy
    log: AccessLog


def _check_batch(ids: Sequence[object]) -> None:
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise as_graphql_error(
            InvalidInput(f"ids holds {len(ids)} ids; at most {MAX_IDS_PER_REQUEST} per request")
        )


@dataclass(slots=True)
class _Decision:
    lot: str
    status: str
    relations: list[str]
    given: list[str]
    reason: str | None = None


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
    ) -> list[LotAnswer]:
        _check_batch(ids)
        ctx = info.context
        org = (await ctx.store.organisation()).id
        by_lot = {g.lot: g for g in grants or []}
        answers: dict[str, LotAnswer] = {}
        decisions: list[_Decision] = []
        wanted: list[strawberry.ID] = []
        for lot_id in ids:
            try:
                ref = parse_lot_id(lot_id)
            except InvalidLotId as exc:
                answers[lot_id] = LotAnswer(id=lot_id, status=LotStatus.INVALID_ID, detail=str(exc))
                continue
            if ref.org != org:
                answers[lot_id] = LotAnswer(
                    id=lot_id,
                    status=LotStatus.NOT_FOUND,
                    detail=f"lot belongs to {ref.org!r}, not to {org!r}",
                )
            else:
                wanted.append(lot_id)
        found = await ctx.store.lots(wanted)
        shipments = await ctx.store.shipments(list(found))
        facilities = {f.id: f for f in await ctx.store.facilities()}
        certificates = await ctx.store.certificates(
            [*sorted({lot.facility for lot in found.values()}), org]
        )
        for lot_id in wanted:
            lot = found.get(lot_id)
            if lot is None:
                answers[lot_id] = LotAnswer(
                    id=lot_id, status=LotStatus.NOT_FOUND, detail=f"{org} holds no lot {lot_id}"
                )
                decisions.append(_Decision(lot_id, "NOT_FOUND", [], []))
                continue
            about = [c for c in certificates if c.subject in (lot.facility, org)]
            relations, refusal = await _relations(
                ctx,
                org,
                lot,
                shipments=shipments.get(lot_id, []),
                certificates=about,
                grant=by_lot.get(lot_id),
            )
            granted = ctx.policy.granted(relations, ctx.principal.org, ctx.principal.roles)
            if not relations & DIRECT or "identity" not in granted:
                reason = refusal or "the owner's policy gives this caller nothing of this lot"
                if relations & DIRECT:
                    reason = "the owner's policy withholds this lot from this caller"
                answers[lot_id] = LotAnswer(id=lot_id, status=LotStatus.WITHHELD, detail=reason)
                decisions.append(_Decision(lot_id, "WITHHELD", sorted(relations), [], reason))
                continue
            issued = {}
            if "inputs" in granted:
                issued = {
                    link.lot: ctx.authority.issue_grant(ctx.principal, link.lot, lot.id)
                    for link in lot.inputs
                }
            answers[lot_id] = LotAnswer(
                id=lot_id,
                status=LotStatus.FOUND,
                lot=lot_type(lot, facilities[lot.facility], about, granted, issued),
            )
            decisions.append(_Decision(lot_id, "FOUND", sorted(relations), sorted(granted)))
        await _log(ctx, "lots", decisions)
        return [answers[lot_id] for lot_id in ids]

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
            await _log(ctx, "outputs", [_Decision(i, "WITHHELD", [], [], "outputs") for i in ids])
            raise withheld("outputs")
        consumers = await ctx.store.consumers(ids)
        shipments = await ctx.store.shipments(ids)
        await _log(ctx, "outputs", [_Decision(i, "FOUND", [], ["outputs"]) for i in ids])
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


async def _relations(
    ctx: NodeContext,
    org: str,
    lot: Lot,
    *,
    shipments: Sequence[Any],
    certificates: Sequence[Certificate],
    grant: GrantInput | None,
) -> tuple[set[Relation], str | None]:
    """How the caller stands to ``lot``, and why not if it does not."""
    principal = ctx.principal
    relations: set[Relation] = set()
    refusal = None
    if principal.org == org:
        relations.add(Relation.SELF)
    if any(s.to_org == principal.org for s in shipments):
        relations.add(Relation.CUSTOMER)
    if "AUDITOR" in principal.roles and any(c.issuer == principal.org for c in certificates):
        relations.add(Relation.AUDITOR)
    if principal.purpose.startswith("transparency:"):
        relations.add(Relation.TRANSPARENCY)
        if org in principal.approved_by:
            # We approved this transparency query: our own lots are its starting points.
            relations.add(Relation.APPROVER)
    if grant is not None:
        try:
            await ctx.authority.check_grant(principal, lot.id, grant.grant, grant.parent_token)
            relations.add(Relation.DOWNSTREAM)
        except TokenRejected as exc:
            refusal = f"continuation grant refused: {exc}"
    elif not relations & DIRECT:
        refusal = "no valid chain reaches this lot and the caller has no direct relation to it"
    return relations, refusal


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


async def _log(ctx: NodeContext, query: str, decisions: list[_Decision]) -> None:
    p = ctx.principal
    await ctx.log.append(
        {
            "caller": p.sub,
            "org": p.org,
            "on_behalf_of_via": "gateway",
            "purpose": p.purpose,
            "txn": p.txn,
            "query": query,
            "lots": [
                {
                    "lot": d.lot,
                    "status": d.status,
                    "relations": d.relations,
                    "given": d.given,
                    "withheld": sorted(set(FIELD_GROUPS) - set(d.given))
                    if d.status == "FOUND"
                    else sorted(FIELD_GROUPS),
                    **({"reason": d.reason} if d.reason else {}),
                }
                for d in decisions
            ],
        }
    )


def build_node_schema(*, dev: bool = False) -> strawberry.Schema:
    return build_schema(Query, dev=dev)
