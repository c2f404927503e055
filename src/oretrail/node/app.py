"""The node's ASGI app: GraphQL at /graphql, liveness at /health."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from oretrail.asgi import health_endpoint
from oretrail.node.schema import NodeContext, build_node_schema
from oretrail.store.port import GraphStore

__all__ = ["StoreOpener", "build_node_app"]

# Opens the node's store for the app's lifetime (a driver for Neo4j, nothing for memory).
StoreOpener = Callable[[], AbstractAsyncContextManager[GraphStore]]


class _NodeGraphQL(GraphQL[NodeContext, None]):
    def __init__(self, *, dev: bool) -> None:
        super().__init__(
            build_node_schema(),
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
        )
        self.store: GraphStore | None = None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> NodeContext:
        assert self.store is not None, "the app's lifespan opens the store"
        return NodeContext(store=self.store)


def build_node_app(open_store: StoreOpener, *, dev: bool = False) -> Starlette:
    """A node serving one organisation's store. GraphiQL only when ``dev`` is set."""
    graphql = _NodeGraphQL(dev=dev)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store() as store:
            graphql.store = store
            yield

    async def check() -> dict[str, Any]:
        assert graphql.store is not None
        org = await graphql.store.organisation()
        return {"status": "ok", "organisation": org.id}

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health_endpoint(check), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
