"""The node's ASGI app: GraphQL at /graphql, liveness at /health."""

from __future__ import annotations

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

__all__ = ["build_node_app"]


class _NodeGraphQL(GraphQL[NodeContext, None]):
    def __init__(self, store: GraphStore, *, dev: bool) -> None:
        super().__init__(
            build_node_schema(),
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
        )
        self._store = store

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> NodeContext:
        return NodeContext(store=self._store)


def build_node_app(store: GraphStore, *, dev: bool = False) -> Starlette:
    """A node serving one organisation's store. GraphiQL only when ``dev`` is set."""

    async def check() -> dict[str, Any]:
        org = await store.organisation()
        return {"status": "ok", "organisation": org.id}

    return Starlette(
        routes=[
            Route("/graphql", _NodeGraphQL(store, dev=dev), methods=["GET", "POST"]),
            Route("/health", health_endpoint(check), methods=["GET"]),
        ]
    )
