"""The gateway's ASGI app: GraphQL at /graphql, health at /health, one aiohttp session."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from oretrail.asgi import health_endpoint
from oretrail.config import GatewaySettings, Registry
from oretrail.gateway.node_client import HttpNodeClient, NodeClient
from oretrail.gateway.schema import GatewayContext, build_gateway_schema

__all__ = ["build_gateway_app"]


class _GatewayGraphQL(GraphQL[GatewayContext, None]):
    def __init__(self, registry: Registry, settings: GatewaySettings, *, dev: bool) -> None:
        super().__init__(
            build_gateway_schema(),
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
        )
        self.registry = registry
        self.settings = settings
        self.client: NodeClient | None = None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        assert self.client is not None, "the app's lifespan opens the node client"
        return GatewayContext(registry=self.registry, client=self.client, settings=self.settings)


def build_gateway_app(
    registry: Registry,
    settings: GatewaySettings,
    *,
    dev: bool = False,
    client: NodeClient | None = None,
) -> Starlette:
    """The gateway. Without ``client`` it opens one aiohttp session for its lifetime."""
    graphql = _GatewayGraphQL(registry, settings, dev=dev)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if client is not None:
            graphql.client = client
            yield
            return
        async with aiohttp.ClientSession() as session:
            graphql.client = HttpNodeClient(session, timeout=settings.node_timeout)
            yield

    async def check() -> dict[str, Any]:
        return {"status": "ok", "participants": len(registry.participants)}

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health_endpoint(check), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
