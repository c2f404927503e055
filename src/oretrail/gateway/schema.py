"""The gateway's GraphQL schema: trace, exposure, and the participant registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error, build_schema
from oretrail.auth.requests import RequestContext
from oretrail.domain.model import parse_lot_id
from oretrail.errors import (
    Forbidden,
    InvalidInput,
    NodeCallError,
    OretrailError,
    RequestAbandoned,
    StoreError,
    StoreUnavailable,
)
from oretrail.gateway.context import RESTRICTED_ROLES, Caller, GatewayContext
from oretrail.gateway.due_diligence_schema import (
    DueDiligenceReport,
    RiskRecordType,
    due_diligence,
    record_risk_decision,
)
from oretrail.gateway.evidence import EvidenceCollector, evidence_bundle, receipt_lines
from oretrail.gateway.exposure import trace_downstream
from oretrail.gateway.node_client import NodeCredential
from oretrail.gateway.recording import trace_record
from oretrail.gateway.tracing import TraceReport, check_depth, run_trace
from oretrail.gateway.transparency_schema import TransparencyQueries, approved_query
from oretrail.gateway.types import (
    ExposureType,
    OverAllocationType,
    ParticipantType,
    SupplyLinkType,
    TraceRecordType,
    TraceType,
    exposure_type,
    trace_record_type,
    trace_type,
)
from oretrail.standards.dpp_sources import Party
from oretrail.store.seed import FACILITY_PREFIX

__all__ = ["GatewayContext", "build_gateway_schema"]

_T = TypeVar("_T")

# Argument types with their descriptions, shared by the fields that take them.
LotArg = Annotated[
    strawberry.ID,
    strawberry.argument(description="Lot id, urn:oretrail:lot:<organisation>:<local-id>."),
]
OptionalLotArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="Lot id, urn:oretrail:lot:<organisation>:<local-id>; give this or facility."
    ),
]
FacilityArg = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="Facility id, urn:oretrail:facility:<organisation>:<local-id>; "
        "give this or lot."
    ),
]
MaxDepthArg = Annotated[
    int | None,
    strawberry.argument(
        description="Input hops to follow, from 1 to the gateway's maxDepth (50 by default); "
        "must equal the depth the caller signed. Default: the signed depth."
    ),
]
# The longest list a model query returns at once.
MAX_LIST = 1000


def _require_tracer(caller: Caller) -> None:
    """NGOs and auditors run approved transparency queries only; they may not trace freely."""
    if caller.roles and caller.roles <= RESTRICTED_ROLES:
        raise Forbidden("NGO and auditor callers may run approved transparency queries only")
    if not caller.roles:
        raise Forbidden(f"caller {caller.sub} of {caller.org} holds no registered role")


@strawberry.type(
    description="The gateway's operations. Each request must be signed by the caller for "
    "exactly its document and variables (docs/api.md)."
)
class Query:
    @strawberry.field(description="Trace a lot upstream to the origins of its materials.")
    async def trace(
        self,
        info: Info[GatewayContext, None],
        lot: LotArg,
        max_depth: MaxDepthArg = None,
        as_of: Annotated[
            date | None,
            strawberry.argument(
                description="Judge certificates on this day (YYYY-MM-DD); must equal the "
                "day the caller signed. Default: the signed day."
            ),
        ] = None,
    ) -> TraceType:
        ctx = info.context
        try:
            _require_tracer(ctx.caller)
            signed = ctx.authorised("trace", (lot,))
            depth, day = _signed_depth_and_day(signed, max_depth, as_of)
            answers = EvidenceCollector()
            credentials, status_lists = (
                (None, {}) if ctx.credentials is None else ctx.credentials.recording()
            )
            report = await run_trace(
                lot,
                depth,
                day,
                registry=ctx.registry,
                client=ctx.client,
                settings=ctx.settings,
                mint_token=ctx.node_headers(),
                guards=ctx.guards,
                answers=answers,
                credentials=credentials,
            )
            record = trace_record(report, ctx.caller.org, receipt_lines(answers.answers))
            # A trace whose caller went away (interrupted, timed out) reached no one: it
            # is not recorded, so the history holds only traces that were answered.
            if await ctx.caller_gone():
                raise RequestAbandoned(
                    "the caller closed the connection; the trace is not recorded"
                )
            # A trace is answered only once it is committed to the model, so an
            # answered trace is never missing from the history.
            await ctx.model.record_trace(record)
        except StoreError as exc:
            raise as_graphql_error(
                StoreUnavailable(
                    f"the trace ran but could not be recorded, so it is not answered: {exc}"
                )
            ) from exc
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        names = {p.id: p.name for p in ctx.registry.participants.values()}
        traced_by = Party(ctx.caller.org, names.get(ctx.caller.org, ctx.caller.org))
        return trace_type(
            report,
            record.summary.id,
            traced_by,
            names,
            bundle=_bundle(ctx, report, answers, status_lists),
        )

    due_diligence: DueDiligenceReport = strawberry.field(
        resolver=due_diligence,
        description="Trace a product and judge it against the commodity due-diligence profiles.",
    )

    @strawberry.field(
        description="Follow a lot, or a facility's lots, forward to the products holding it."
    )
    async def exposure(
        self,
        info: Info[GatewayContext, None],
        lot: OptionalLotArg = None,
        facility: FacilityArg = None,
        max_depth: MaxDepthArg = None,
    ) -> ExposureType:
        ctx = info.context
        try:
            _require_tracer(ctx.caller)
            signed = ctx.authorised("exposure", tuple(r for r in (lot, facility) if r is not None))
            depth = check_depth(_same(max_depth, signed.depth, "maxDepth"), ctx.settings)
            mint = ctx.node_headers()
            start = await _start_lots(ctx, lot, facility, mint)
            result = await trace_downstream(start, depth, ctx.registry, ctx.client, mint)
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return exposure_type(result)

    @strawberry.field(description="The caller's organisation's recorded traces, newest first.")
    async def trace_history(
        self,
        info: Info[GatewayContext, None],
        lot: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only traces of this lot. Default: every lot."),
        ] = None,
        limit: Annotated[
            int,
            strawberry.argument(description=f"How many records at most, from 1 to {MAX_LIST}."),
        ] = 20,
    ) -> list[TraceRecordType]:
        await _model_call(_allowed(info.context.caller))
        if not 1 <= limit <= MAX_LIST:
            raise as_graphql_error(InvalidInput(f"limit {limit} must be between 1 and {MAX_LIST}"))
        caller = info.context.caller.org
        summaries = await _model_call(
            info.context.model.trace_history(root=lot, caller=caller, limit=limit)
        )
        return [trace_record_type(s) for s in summaries]

    @strawberry.field(
        description="Who supplies whom, by material, as the caller's organisation's traces found."
    )
    async def supply_network(
        self,
        info: Info[GatewayContext, None],
        material: Annotated[
            str | None,
            strawberry.argument(description="Only links of this material. Default: every one."),
        ] = None,
    ) -> list[SupplyLinkType]:
        caller = info.context.caller
        await _model_call(_allowed(caller))
        links = await _model_call(info.context.model.supply_network(material, caller=caller.org))
        return [
            SupplyLinkType(supplier=x.supplier, customer=x.customer, material=x.material)
            for x in links
        ]

    @strawberry.field(
        description="The caller's traced products that hold material from a lot or a facility."
    )
    async def exposed_products(
        self,
        info: Info[GatewayContext, None],
        lot: OptionalLotArg = None,
        facility: FacilityArg = None,
    ) -> list[strawberry.ID]:
        await _model_call(_allowed(info.context.caller))
        if (lot is None) == (facility is None):
            raise as_graphql_error(
                InvalidInput("exposedProducts needs exactly one of lot or facility")
            )
        products = await _model_call(
            info.context.model.exposed_products(
                lot=lot, facility=facility, caller=info.context.caller.org
            )
        )
        return [strawberry.ID(p) for p in products]

    @strawberry.field(
        description=(
            "Lots consumed beyond their quantity in the links the caller's organisation's "
            "traces recorded; and the caller's own lots, as totals over every recorded "
            "trace, without who consumed them (outputs null)."
        )
    )
    async def over_allocations(
        self,
        info: Info[GatewayContext, None],
        tolerance: Annotated[
            float | None,
            strawberry.argument(
                description="Consumption allowed beyond a lot's quantity, as a fraction of it "
                "from 0 to 1. Default: the gateway's mass-balance tolerance (0.02)."
            ),
        ] = None,
    ) -> list[OverAllocationType]:
        tol = info.context.settings.risk.mass_balance_tolerance if tolerance is None else tolerance
        if not 0 <= tol <= 1:
            raise as_graphql_error(InvalidInput(f"tolerance {tol} must be between 0 and 1"))
        caller = info.context.caller
        await _model_call(_allowed(caller))
        found = await _model_call(info.context.model.over_allocations(tol, caller=caller.org))
        return [
            OverAllocationType(
                lot=strawberry.ID(o.lot),
                owner=o.owner,
                quantity_kg=o.quantity_kg,
                allocated_kg=o.allocated_kg,
                outputs=o.outputs,
            )
            for o in found
        ]

    @strawberry.field(description="Aggregates of approved transparency queries (by id only).")
    def transparency(self, info: Info[GatewayContext, None]) -> TransparencyQueries:
        approved_query(info.context)
        return TransparencyQueries()

    @strawberry.field(description="The organisations in the consortium.")
    async def participants(self, info: Info[GatewayContext, None]) -> list[ParticipantType]:
        await _model_call(_allowed(info.context.caller))
        return [
            ParticipantType(
                id=p.id, name=p.name, roles=[str(r) for r in p.roles], country=p.country
            )
            for p in info.context.registry.participants.values()
        ]


def _bundle(
    ctx: GatewayContext,
    report: TraceReport,
    answers: EvidenceCollector,
    status_lists: Mapping[str, str],
) -> Callable[[], dict[str, Any]]:
    """Builds the trace's evidence bundle when the ``evidence`` field is asked for."""
    request = ctx.caller.request
    registry = ctx.pinned.to_json() if ctx.pinned is not None else {"members": {}}
    return lambda: evidence_bundle(
        report,
        answers.answers,
        request_token=request.token,
        request_hash=request.hash,
        risk=ctx.settings.risk,
        registry=registry,
        status_lists=status_lists,
    )


def _same(given: _T | None, signed: _T, name: str) -> _T:
    """The signed value; a value given as an argument must equal it."""
    if given is not None and given != signed:
        raise Forbidden(f"{name} {given} is not the {signed} the caller signed")
    return signed


def _signed_depth_and_day(
    signed: RequestContext, max_depth: int | None, as_of: date | None
) -> tuple[int, date]:
    """The trace's depth and as-of date: those the caller signed (arguments must agree)."""
    return _same(max_depth, signed.depth, "maxDepth"), _same(as_of, signed.as_of_date, "asOf")


async def _start_lots(
    ctx: GatewayContext,
    lot: str | None,
    facility: str | None,
    mint: Callable[[str], Mapping[str, str]],
) -> list[str]:
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
        lots = await ctx.client.fetch_lots_at(node, facility, NodeCredential(mint(org)))
    except NodeCallError as exc:
        raise InvalidInput(f"cannot list the lots of {facility}: {exc.detail}") from exc
    if not lots:
        raise InvalidInput(f"{org} reports no lots produced at facility {facility}")
    return lots


async def _allowed(caller: Caller) -> None:
    _require_tracer(caller)
    op = caller.request.context.op
    if op != "model":
        raise Forbidden(f"the signed request authorises {op!r}, not a model read ('model')")


async def _model_call(call: Awaitable[_T]) -> _T:
    """Await a model query; a store that is down is a typed error, not a masked one."""
    try:
        return await call
    except OretrailError as exc:
        raise as_graphql_error(exc) from exc


@strawberry.type(
    description="The gateway's writes. Each request must be signed by the caller for exactly "
    "its document and variables (docs/api.md)."
)
class Mutation:
    record_risk_decision: RiskRecordType = strawberry.field(
        resolver=record_risk_decision,
        description="Keep a risk-management record signed with the caller's organisation key.",
    )


def build_gateway_schema(*, dev: bool = False) -> strawberry.Schema:
    return build_schema(Query, dev=dev, mutation=Mutation)
