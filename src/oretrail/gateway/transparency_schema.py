"""GraphQL fields of approved transparency queries: aggregates only, under k-anonymity.

These fields resolve only inside an approved document run by id, under the NGO's
own signed request (``op = transparency``, ``doc`` = the query id, ``line`` = the
product line). The line owner's signed root list travels with it: the owner's
node opens only the roots that list names, and each node applies its
transparency rule.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from oretrail.asgi import as_graphql_error
from oretrail.domain.disclosure import disclose
from oretrail.domain.transparency import (
    ProductTrace,
    audited_throughput,
    origin_groups,
    recycled_content,
)
from oretrail.errors import Forbidden, InvalidInput, OretrailError
from oretrail.gateway.approved import ApprovedQuery
from oretrail.gateway.context import GatewayContext
from oretrail.gateway.tracing import run_trace
from oretrail.gateway.types import Aggregate, aggregate_type

__all__ = ["TransparencyQueries", "approved_query"]

GROUPINGS = ("COUNTRY", "ASM")

ProductLineArg = Annotated[
    str, strawberry.argument(description="Product line id, as config/product_lines lists it.")
]
ElementArg = Annotated[str, strawberry.argument(description="IUPAC element symbol, e.g. Co.")]


def approved_query(ctx: GatewayContext) -> ApprovedQuery:
    if ctx.approved is None:
        raise as_graphql_error(
            Forbidden(
                "transparency fields are reachable only through an approved query, run by its id"
            )
        )
    return ctx.approved


async def _traces(ctx: GatewayContext, line: str) -> list[ProductTrace]:
    approved = approved_query(ctx)
    signed = ctx.authorised("transparency")
    if signed.doc != approved.id or signed.line != line:
        raise Forbidden(
            "the signed request names another approved query or product line "
            f"({signed.doc!r}, {signed.line!r})"
        )
    headers = ctx.node_headers(ctx.transparency.signed_root_list(line))
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


@strawberry.type(
    description="Aggregates of approved transparency queries, under k-anonymity; reachable "
    "only through an approved query run by its documentId."
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
    ) -> Aggregate:
        try:
            if group_by not in GROUPINGS:
                raise InvalidInput(f"groupBy must be one of {', '.join(GROUPINGS)}")
            traces = await _traces(info.context, product_line)
            groups = origin_groups(traces, element, group_by)
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return aggregate_type(disclose(groups, approved_query(info.context).k), len(traces))

    @strawberry.field(description="Share of smelter and refiner throughput under a valid audit.")
    async def audited_throughput(
        self, info: Info[GatewayContext, None], product_line: ProductLineArg
    ) -> Aggregate:
        ctx = info.context
        try:
            traces = await _traces(ctx, product_line)
            groups = audited_throughput(traces, ctx.registry.roles(), date.today())
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return aggregate_type(disclose(groups, approved_query(ctx).k), len(traces))

    @strawberry.field(description="Post-consumer, pre-consumer and primary shares of an element.")
    async def recycled_content(
        self, info: Info[GatewayContext, None], product_line: ProductLineArg, element: ElementArg
    ) -> Aggregate:
        try:
            traces = await _traces(info.context, product_line)
            groups = recycled_content(traces, element)
        except OretrailError as exc:
            raise as_graphql_error(exc) from exc
        return aggregate_type(disclose(groups, approved_query(info.context).k), len(traces))
