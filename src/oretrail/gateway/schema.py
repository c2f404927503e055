"""The gateway's GraphQL schema: trace, exposure, and the participant registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.config import GatewaySettings, Registry
from oretrail.domain.model import parse_lot_id
from oretrail.errors import InvalidInput, NodeCallError, OretrailError
from oretrail.gateway.exposure import trace_downstream
from oretrail.gateway.node_client import NodeClient
from oretrail.gateway.tracing import check_depth, run_trace
from oretrail.gateway.types import (
    ExposureType,
    ParticipantType,
    TraceType,
    exposure_type,
    trace_type,
)
from oretrail.store.seed import FACILITY_PREFIX

__all__ = ["GatewayContext", "build_gateway_schema"]


@dataclass(slots=True)
class GatewayContext:
    """Per-request context: the registry, the node client and the settings."""

    registry: Registry
    client: NodeClient
    settings: GatewaySettings


@strawberry.type
class Query:
    @strawberry.field(description="Trace a lot upstream to the origins of its materials.")
    async def trace(
        self,
        info: Info[GatewayContext, None],
        lot: strawberry.ID,
        max_depth: int | None = None,
        as_of: date | None = None,
    ) -> TraceType:
        ctx = info.context
        try:
            report = await run_trace(
                lot,
                max_depth,
                as_of,
                registry=ctx.registry,
                client=ctx.client,
                settings=ctx.settings,
            )
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return trace_type(report)

    @strawberry.field(
        description="Follow a lot, or a facility's lots, forward to the products holding it."
    )
    async def exposure(
        self,
        info: Info[GatewayContext, None],
        lot: strawberry.ID | None = None,
        facility: strawberry.ID | None = None,
        max_depth: int | None = None,
    ) -> ExposureType:
        ctx = info.context
        try:
            depth = check_depth(max_depth, ctx.settings)
            start = await _start_lots(ctx, lot, facility)
            result = await trace_downstream(start, depth, ctx.registry, ctx.client)
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return exposure_type(result)

    @strawberry.field(description="The organisations in the consortium.")
    def participants(self, info: Info[GatewayContext, None]) -> list[ParticipantType]:
        return [
            ParticipantType(
                id=p.id, name=p.name, roles=[str(r) for r in p.roles], country=p.country
            )
            for p in info.context.registry.participants.values()
        ]


async def _start_lots(ctx: GatewayContext, lot: str | None, facility: str | None) -> list[str]:
    if (lot is None) == (facility is None):
        raise InvalidInput("exposure needs exactly one of lot or facility")
    if lot is not None:
        ctx.registry.get(parse_lot_id(lot).org)
        return [lot]
    assert facility is not None
    org, sep, local = facility.removeprefix(FACILITY_PREFIX).partition(":")
    if not facility.startswith(FACILITY_PREFIX) or not sep or not local:
        raise InvalidInput(
            f"facility id {facility[:80]!r} is not {FACILITY_PREFIX}<organisation>:<local-id>"
        )
    node = ctx.registry.get(org)
    try:
        lots = await ctx.client.fetch_lots_at(node, facility)
    except NodeCallError as exc:
        raise InvalidInput(f"cannot list the lots of {facility}: {exc.detail}") from exc
    if not lots:
        raise InvalidInput(f"{org} reports no lots produced at facility {facility}")
    return lots


def build_gateway_schema() -> strawberry.Schema:
    return build_schema(Query)
