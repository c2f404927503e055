"""GraphQL fields of commodity due diligence: the report per product, and signed records.

``dueDiligence(lot:)`` traces the product under the caller's signed trace request
(the client signs it as ``op = trace`` over the lot), records the trace like
``trace`` does, and returns the outcomes of every commodity profile with the whole
report document (JSON, with its Markdown and HTML renderings).
``recordRiskDecision(record:)`` keeps a risk-management record the caller's
organisation signed with its own key (auth.risk_records), under that organisation.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from oretrail.asgi import as_graphql_error
from oretrail.auth.risk_records import verify_risk_record
from oretrail.domain.risk_management import RiskRecord
from oretrail.due_diligence.render import to_html, to_markdown
from oretrail.due_diligence.report import build_report
from oretrail.errors import Forbidden, OretrailError, StoreError, StoreUnavailable
from oretrail.gateway.context import RESTRICTED_ROLES, GatewayContext
from oretrail.gateway.recording import trace_record
from oretrail.gateway.tracing import run_trace

__all__ = ["DueDiligenceReport", "RiskRecordType", "due_diligence", "record_risk_decision"]


F = strawberry.field


@strawberry.type(
    name="DefinedOutcome",
    description="One defined outcome of a commodity profile, judged for one element "
    "(docs/due-diligence.md).",
)
class OutcomeType:
    commodity: str = F(description="The profile's commodity id, e.g. cobalt.")
    id: str = F(description="The outcome's id in its profile.")
    kind: str = F(
        description="COVERAGE, AUDITED_PROCESSORS, RED_FLAGS_MANAGED or RECYCLED_CONTENT."
    )
    statement: str = F(description="What the buyer set out to achieve, in words.")
    element: str = F(description="The element judged (symbol).")
    state: str = F(description="MET, NOT_MET or UNKNOWN (when gaps hide what it needs).")
    figure: float = F(description="The measured share of the element (a fraction from 0 to 1).")
    threshold: float = F(description="The profile's threshold (a fraction from 0 to 1).")
    at_most: bool = F(description="True when the threshold is a ceiling, not a floor.")
    concerned: float = F(description="The share the finding concerns (a fraction from 0 to 1).")
    unknown: float = F(description="The share the trace could not follow (a fraction from 0 to 1).")
    evidence: list[str] = F(description="The lots and figures behind the verdict.")


@strawberry.type(
    name="RiskRecord",
    description="A risk-management decision on one flag, signed with the organisation key "
    "(OECD DDG step 3).",
)
class RiskRecordType:
    id: strawberry.ID = F(description="The record id (the signed token's jti).")
    org: str = F(description="The organisation that decided and signed.")
    flag: str = F(description="The flag kind, e.g. ASM_ORIGIN.")
    lot: strawberry.ID | None = F(description="The lot the flag is about; null for the product.")
    decision: str = F(description="MITIGATE, SUSPEND, DISENGAGE or ACCEPT.")
    rationale: str = F(description="The mitigation plan, or the reason or grounds.")
    decided_on: date = F(description="The day the decision was taken.")
    review_by: date | None = F(description="The day it is reviewed by, if any.")


@strawberry.type(
    description="A product's due-diligence report: the outcomes of every commodity profile "
    "that applies, and the whole document (docs/due-diligence.md)."
)
class DueDiligenceReport:
    product: strawberry.ID = F(description="The product's lot id.")
    trace_record_id: strawberry.ID = F(description="The trace record this report rests on.")
    outcomes: list[OutcomeType] = F(description="Every defined outcome, per element.")
    document: JSON = F(description="The whole report as JSON (docs/due-diligence.md).")
    markdown: str = F(description="The report as Markdown.")
    html: str = F(description="The report as a printable HTML page.")


def _require_member(ctx: GatewayContext) -> None:
    roles = ctx.caller.roles
    if not roles or roles <= RESTRICTED_ROLES:
        raise Forbidden("due diligence is for members that trace their own products")


async def due_diligence(
    info: Info[GatewayContext, None],
    lot: Annotated[
        strawberry.ID,
        strawberry.argument(description="The product's lot id, urn:oretrail:lot:<org>:<local>."),
    ],
    max_depth: Annotated[
        int | None,
        strawberry.argument(
            description="Input hops to follow; must equal the depth the caller signed."
        ),
    ] = None,
    as_of: Annotated[
        date | None,
        strawberry.argument(
            description="Judge audits on this day (YYYY-MM-DD); must equal the signed day."
        ),
    ] = None,
) -> DueDiligenceReport:
    """Trace ``lot`` and judge it against every commodity profile that applies."""
    ctx = info.context
    try:
        _require_member(ctx)
        signed = ctx.authorised("trace", (lot,))
        if max_depth is not None and max_depth != signed.depth:
            raise Forbidden(f"maxDepth {max_depth} is not the {signed.depth} the caller signed")
        if as_of is not None and as_of != signed.as_of_date:
            raise Forbidden(f"asOf {as_of} is not the {signed.as_of_date} the caller signed")
        report = await run_trace(
            lot,
            signed.depth,
            signed.as_of_date,
            registry=ctx.registry,
            client=ctx.client,
            settings=ctx.settings,
            mint_token=ctx.node_headers(),
            guards=ctx.guards,
            credentials=ctx.credentials,
        )
        record = trace_record(report, ctx.caller.org)
        await ctx.model.record_trace(record)
        records = await ctx.model.risk_records(org=ctx.caller.org)
    except StoreError as exc:
        raise as_graphql_error(
            StoreUnavailable(
                f"the trace ran but could not be recorded, so it is not answered: {exc}"
            )
        ) from exc
    except OretrailError as exc:
        raise as_graphql_error(exc) from exc
    document = build_report(
        report,
        registry=ctx.registry,
        profiles=ctx.commodities,
        records=records,
        organisation=ctx.caller.org,
        tolerance=ctx.settings.risk.mass_balance_tolerance,
    )
    outcomes = [
        OutcomeType(
            commodity=profile["commodity"],
            id=o["id"],
            kind=o["kind"],
            statement=o["statement"],
            element=o["element"],
            state=o["state"],
            figure=o["figure"],
            threshold=o["threshold"],
            at_most=o["atMost"],
            concerned=o["concerned"],
            unknown=o["unknown"],
            evidence=o["evidence"],
        )
        for profile in document["profiles"]
        for o in profile["outcomes"]
    ]
    return DueDiligenceReport(
        product=lot,
        trace_record_id=strawberry.ID(record.summary.id),
        outcomes=outcomes,
        document=cast(JSON, document),
        markdown=to_markdown(document),
        html=to_html(document),
    )


async def record_risk_decision(
    info: Info[GatewayContext, None],
    record: Annotated[
        str,
        strawberry.argument(
            description="The record, an EdDSA JWS (typ risk-record+jwt) signed with the "
            "caller's organisation key: `oretrail risk-record sign`."
        ),
    ],
) -> RiskRecordType:
    """Keep a risk-management record signed with the caller's organisation key."""
    ctx = info.context
    try:
        _require_member(ctx)
        ctx.authorised("model")
        if ctx.pinned is None:
            raise Forbidden("this gateway holds no organisation keys to verify records with")
        verified = await verify_risk_record(record, ctx.pinned.org_keys, org=ctx.caller.org)
        await ctx.model.record_risk_decision(verified)
    except OretrailError as exc:
        raise as_graphql_error(exc) from exc
    return risk_record_type(verified)


def risk_record_type(record: RiskRecord) -> RiskRecordType:
    return RiskRecordType(
        id=strawberry.ID(record.id),
        org=record.org,
        flag=record.flag,
        lot=None if record.lot is None else strawberry.ID(record.lot),
        decision=str(record.decision),
        rationale=record.rationale,
        decided_on=record.decided_on,
        review_by=record.review_by,
    )
