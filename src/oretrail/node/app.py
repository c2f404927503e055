"""The node's ASGI app: GraphQL at /graphql (a caller's signed request required), /health,
its public keys, and member statements for its pinned registry copy."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from oretrail.asgi import BearerProtected, bearer_token, health_endpoint, json_endpoint
from oretrail.auth.access_log import AccessLog
from oretrail.auth.declarations import HEADER_APPROVED_QUERY
from oretrail.auth.policy import Policy
from oretrail.auth.principal import (
    HEADER_CERTIFICATE,
    HEADER_GATEWAY,
    HEADER_ROOTS,
    NodeAuthority,
    Principal,
)
from oretrail.body_guard import NODE_MAX_BODY_BYTES, BodyGuard
from oretrail.errors import ConfigError, TokenRejected
from oretrail.node.compiled import execute_lots, match_lots
from oretrail.node.lots import NodeContext
from oretrail.node.schema import build_node_schema
from oretrail.store.port import GraphStore

__all__ = ["NodeSecurity", "StoreOpener", "build_node_app"]

# Opens the node's store for the app's lifetime (a driver for Neo4j, nothing for memory).
StoreOpener = Callable[[], AbstractAsyncContextManager[GraphStore]]


@dataclass(frozen=True, slots=True)
class NodeSecurity:
    """What a node decides with: its authority (keys), its policy and its access log."""

    authority: NodeAuthority
    policy: Policy
    log: AccessLog
    jwks: dict[str, Any]


class _NodeGraphQL(GraphQL[NodeContext, None]):
    def __init__(self, security: NodeSecurity, *, dev: bool) -> None:
        super().__init__(
            build_node_schema(dev=dev),
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
        )
        self.security = security
        self.store: GraphStore | None = None

    async def execute_single(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: NodeContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # The gateway's lots document (every trace hop) skips the general executor.
        lots = match_lots(
            request_data.query,
            request_data.operation_name,
            request_data.variables,
            request_data.extensions,
        )
        if lots is not None and request_adapter.method == "POST":
            return await execute_lots(context, lots)
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> NodeContext:
        assert self.store is not None, "the app's lifespan opens the store"
        principal: Principal = request.state.principal
        s = self.security
        return NodeContext(
            store=self.store, principal=principal, authority=s.authority, policy=s.policy, log=s.log
        )


def build_node_app(
    open_store: StoreOpener, security: NodeSecurity, *, dev: bool = False
) -> Starlette:
    """A node serving one organisation's store. GraphiQL only when ``dev`` is set."""
    graphql = _NodeGraphQL(security, dev=dev)

    async def authenticate(headers: Headers) -> Principal:
        return await security.authority.principal(
            bearer_token(headers),
            headers.get(HEADER_CERTIFICATE),
            headers.get(HEADER_GATEWAY),
            headers.get(HEADER_ROOTS),
            headers.get(HEADER_APPROVED_QUERY),
        )

    async def refused(headers: Headers, reason: str) -> None:
        # Every refused attempt is logged: who it claimed to be is not believed, so
        # only the reason is recorded.
        await security.log.append(
            {
                "caller": None,
                "org": None,
                "on_behalf_of_via": "gateway",
                "purpose": None,
                "txn": None,
                "query": "refused",
                "reason": reason[:500],
                "lots": [],
            }
        )

    async def statement(request: Request) -> Response:
        """POST /trust/statements: a member's signed statement about its own keys or roles."""
        try:
            body = await request.json()
            token = body.get("statement") if isinstance(body, dict) else None
            record = await security.authority.pinned.apply_statement(token)
            security.authority.forget_requests()
        except (ValueError, UnicodeDecodeError, RecursionError):
            return JSONResponse({"error": "the body is not a JSON object"}, status_code=400)
        except (TokenRejected, ConfigError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return JSONResponse({"applied": record.org, "member": record.to_json()})

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
            Route(
                "/graphql",
                BodyGuard(
                    BearerProtected(graphql, authenticate, refused),
                    max_bytes=NODE_MAX_BODY_BYTES,
                ),
                methods=["GET", "POST"] if dev else ["POST"],
            ),
            Route("/health", health_endpoint(check), methods=["GET"]),
            Route("/.well-known/jwks.json", json_endpoint(lambda: security.jwks), methods=["GET"]),
            Route("/trust/statements", statement, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
