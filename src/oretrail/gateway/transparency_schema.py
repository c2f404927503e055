"""GraphQL fields of approved transparency queries: aggregates only, under Trust 5's rules.

These fields resolve only inside an approved document run by id, under the NGO's
own signed request (``op = transparency``, ``doc`` = the query id, ``line`` = the
product line, ``as_of`` = the end of a closed reporting period). The line owner's
signed root list for that period and the query's declaration travel with it: the
owner's node opens only the roots that list names, and each node gives only the
field groups the declaration lists (node.lots).

One answer per query, variables and closed period: the first run computes it
from the traces and keeps it in the model store; later runs return the kept
answer, without asking any node. What is published is only the groups that pass
the threshold, dominance and complement rules (domain.disclosure): no residual,
no count of contributors, products or suppressed groups.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error
from oretrail.domain.disclosure import Group, disclose_all
from oretrail.domain.lotgraph import GapReason
from oretrail.domain.transparency import (
    TRACE_DEPTH,
    ProductTrace,
    ReportingPeriod,
    audited_throughput,
    closed_period_ending,
    origin_groupings,
)
from oretrail.errors import Forbidden, InvalidInput, NodeUnreachable, OretrailError
from oretrail.gateway.approved import ApprovedQuery
from oretrail.gateway.context import GatewayContext
from oretrail.gateway.tracing import run_trace

__all__ = [
    "PublishedGroup",
    "ReportingPeriodType",
    "TransparencyAnswer",
    "TransparencyQueries",
    "approved_query",
]

GROUPINGS = ("COUNTRY", "ASM")

ProductLineArg = Annotated[
    str, strawberry.argument(description="Product line id, as config/product_lines lists it.")
]
ElementArg = Annotated[str, strawberry.argument(description="IUPAC element symbol, e.g. Co.")]


@strawberry.type(
    name="PublishedGroup",
    description="One published group: at least k organisations, none above the dominance limit.",
)
class PublishedGroup:
    name: str = strawberry.field(
        description="The group: an ISO 3166-1 alpha-2 country code or UNKNOWN, ASM or "
        "NOT_ASM, POST_CONSUMER, PRE_CONSUMER or PRIMARY, AUDITED or NOT_AUDITED."
    )
    share: float = strawberry.field(
        description="The group's share of the product line's whole, from 0 to 1."
    )


@strawberry.type(
    name="ReportingPeriod", description="A closed reporting period, first to last day (UTC)."
)
class ReportingPeriodType:
    start: date = strawberry.field(description="The period's first day.")
    end: date = strawberry.field(description="The period's last day.")


@strawberry.type(
    name="TransparencyAnswer",
    description="The one published answer of an approved query for a closed reporting "
    "period: the groups that pass the publication rules, and nothing about the others.",
)
class TransparencyAnswer:
    period: ReportingPeriodType = strawberry.field(description="The period answered.")
    k: int = strawberry.field(
        description="The least number of contributing organisations a published group has."
    )
    dominance: float = strawberry.field(
        description="The largest part of a published group one organisation may hold, from 0 to 1."
    )
    answered_at: datetime = strawberry.field(
        description="When this answer was first computed; later runs return it unchanged."
    )
    groups: list[PublishedGroup] = strawberry.field(
        description="The published groups, largest first."
    )


def approved_query(ctx: GatewayContext) -> ApprovedQuery:
    if ctx.approved is None:
        raise as_graphql_error(
            Forbidden(
                "transparency fields are reachable only through an approved query, run by its id"
            )
        )
    return ctx.approved


def _period(ctx: GatewayContext, approved: ApprovedQuery, line: str) -> ReportingPeriod:
    """The closed reporting period the caller's signed request asks about, or a refusal."""
    signed = ctx.authorised("transparency")
    if signed.doc != approved.id or signed.line != line:
        raise Forbidden(
            "the signed request names another approved query or product line "
            f"({signed.doc!r}, {signed.line!r})"
        )
    if signed.depth != TRACE_DEPTH:
        # One answer per period: its first run may not be shallower (or deeper) than any.
        raise InvalidInput(
            f"approved query {approved.id} traces to depth {TRACE_DEPTH}; "
            f"the signed request names depth {signed.depth}"
        )
    period = closed_period_ending(signed.as_of, approved.period, datetime.now(UTC))
    if isinstance(period, str):
        raise InvalidInput(f"approved query {approved.id}: {period}")
    return period


async def _traces(
    ctx: GatewayContext, approved: ApprovedQuery, line: str, period: ReportingPeriod
) -> list[ProductTrace]:
    signed = ctx.authorised("transparency")
    headers = ctx.node_headers(
        ctx.transparency.signed_root_list(line, period.label), approved.forwarded()
    )
    traces = []
    for product in ctx.transparency.products(line):
        report = await run_trace(
            product,
            signed.depth,
            signed.as_of_date,
            registry=ctx.registry,
            client=ctx.client,
            settings=ctx.settings,
            mint_token=headers,
            guards=ctx.guards,
        )
        traces.append(ProductTrace(report.graph, report.attribution))
    return traces


async def _answer(
    ctx: GatewayContext,
    line: str,
    groupings_of: Callable[[list[ProductTrace], ReportingPeriod], Mapping[str, Sequence[Group]]],
    grouping: str,
) -> TransparencyAnswer:
    """The kept answer for this query, variables and period, or a new one, kept.

    Every grouping the schema publishes over the same base is disclosed together
    (domain.disclosure.disclose_all), with the largest k of any approved query, so
    that no two answers combine into a hidden figure whichever runs first.
    """
    approved = approved_query(ctx)
    try:
        period = _period(ctx, approved, line)
        key = f"{approved.id}|{ctx.authorised('transparency').vars}|{period.label}"
        kept = await ctx.model.transparency_answer(key)
        if kept is None:
            traces = await _traces(ctx, approved, line, period)
            _complete(traces)
            k = max([approved.k, *(q.k for q in ctx.transparency.queries.queries.values())])
            disclosure = disclose_all(groupings_of(traces, period), k)[grouping]
            fresh = {
                "period": [period.start.isoformat(), period.end.isoformat()],
                "k": disclosure.k,
                "dominance": disclosure.dominance,
                "answered_at": datetime.now(UTC).isoformat(),
                "groups": [[g.name, g.share] for g in disclosure.shown],
            }
            kept = await ctx.model.keep_transparency_answer(key, json.dumps(fresh))
    except OretrailError as exc:
        raise as_graphql_error(exc) from exc
    return _decoded(kept)


# Gaps that say a node failed, not what it decided: an answer with them is not kept.
TRANSIENT_GAPS = frozenset({GapReason.UNREACHABLE, GapReason.TIMEOUT, GapReason.INVALID_RESPONSE})


def _complete(traces: Sequence[ProductTrace]) -> None:
    """Refuse to keep figures computed while a node failed to answer: the period's one
    answer would miss its lots for good. Names no node (who it is would say who
    supplies the line)."""
    if any(
        gap.reason in TRANSIENT_GAPS for trace in traces for gap in trace.graph.unopened.values()
    ):
        raise NodeUnreachable(
            "a node behind the product line did not answer; no answer was kept for the "
            "period, try again later"
        )


def _decoded(kept: str) -> TransparencyAnswer:
    raw = json.loads(kept)
    start, end = raw["period"]
    return TransparencyAnswer(
        period=ReportingPeriodType(start=date.fromisoformat(start), end=date.fromisoformat(end)),
        k=raw["k"],
        dominance=raw["dominance"],
        answered_at=datetime.fromisoformat(raw["answered_at"]),
        groups=[PublishedGroup(name=name, share=share) for name, share in raw["groups"]],
    )


@strawberry.type(
    description="Aggregates of approved transparency queries, under the publication rules "
    "of docs/transparency.md; reachable only through an approved query run by its documentId."
)
class TransparencyQueries:
    @strawberry.field(description="Shares of an element by origin country or by ASM origin.")
    async def origin_shares(
        self,
        info: Info[GatewayContext, None],
        product_line: ProductLineArg,
        element: ElementArg,
        group_by: Annotated[
            str, strawberry.argument(description="COUNTRY (origin country) or ASM (artisanal).")
        ],
    ) -> TransparencyAnswer:
        if group_by not in GROUPINGS:
            raise as_graphql_error(InvalidInput(f"groupBy must be one of {', '.join(GROUPINGS)}"))
        return await _answer(
            info.context,
            product_line,
            lambda traces, _: origin_groupings(traces, element),
            group_by,
        )

    @strawberry.field(description="Share of smelter and refiner throughput under a valid audit.")
    async def audited_throughput(
        self, info: Info[GatewayContext, None], product_line: ProductLineArg
    ) -> TransparencyAnswer:
        roles = info.context.registry.roles()
        return await _answer(
            info.context,
            product_line,
            lambda traces, period: {"AUDIT": audited_throughput(traces, roles, period.end)},
            "AUDIT",
        )

    @strawberry.field(description="Post-consumer, pre-consumer and primary shares of an element.")
    async def recycled_content(
        self, info: Info[GatewayContext, None], product_line: ProductLineArg, element: ElementArg
    ) -> TransparencyAnswer:
        return await _answer(
            info.context,
            product_line,
            lambda traces, _: origin_groupings(traces, element),
            "RECYCLED",
        )
