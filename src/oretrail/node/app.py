"""The node's ASGI app: GraphQL at /graphql (a caller's signed request required), /health,
its public keys, member statements for its pinned registry copy, and the latest checkpoint
and consistency proofs of its witnessed logs (/log/checkpoint, /log/consistency; the
shipments log's under /log/shipments/).

Every request at /graphql, answered or refused, is one leaf of the access log and
carries its receipt and the node's signed answer (node.evidence)."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from oretrail.asgi import BearerProtected, bearer_token, health_endpoint, json_endpoint
from oretrail.auth.access_log import AccessLog, LogTampered
from oretrail.auth.declarations import HEADER_APPROVED_QUERY
from oretrail.auth.keys import SigningKey
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
from oretrail.graphql_http import GraphQLMediaType, GraphQLOverHTTP
from oretrail.node.compiled import execute_lots, match_lots
from oretrail.node.evidence import Witness, WitnessedEdge, request_entry
from oretrail.node.lots import NodeContext
from oretrail.node.schema import build_node_schema
from oretrail.node.shipment_log import ShipmentLog
from oretrail.store.port import GraphStore

__all__ = ["NodeSecurity", "StoreOpener", "build_node_app"]

Endpoint = Callable[[Request], Awaitable[Response]]
# Opens the node's store for the app's lifetime (a driver for Neo4j, nothing for memory).
StoreOpener = Callable[[], AbstractAsyncContextManager[GraphStore]]


@dataclass(frozen=True, slots=True)
class NodeSecurity:
    """What a node decides with: its authority (keys), its policy and its access log,
    and the node key that signs its answers and checkpoints."""

    authority: NodeAuthority
    policy: Policy
    log: AccessLog
    jwks: dict[str, Any]
    node_key: SigningKey
    shipments: ShipmentLog

    @property
    def witness(self) -> Witness:
        return Witness(self.log, self.node_key, self.shipments)


# A status list's name: letters, digits, '.', '_', '-', never a path.
_STATUS_LIST_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


class _NodeGraphQL(GraphQLOverHTTP[NodeContext]):
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
        # The signed answer names the call: the ids asked and the grants presented.
        variables = request_data.variables
        context.entry.variables = dict(variables) if isinstance(variables, dict) else {}
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
            store=self.store,
            principal=principal,
            authority=s.authority,
            policy=s.policy,
            entry=request_entry(request.scope["state"]),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """The response, once its one log entry is durable, with its evidence."""
        response = await super().process_result(request, result)
        principal: Principal = request.state.principal
        body: dict[str, Any] = dict(response)
        evidence = await self.security.witness.seal(
            request_entry(request.scope["state"]), principal, body
        )
        body["extensions"] = {**(body.get("extensions") or {}), "evidence": evidence}
        return body  # type: ignore[return-value]


def build_node_app(
    open_store: StoreOpener,
    security: NodeSecurity,
    *,
    dev: bool = False,
    status_lists: Path | None = None,
) -> Starlette:
    """A node serving one organisation's store. GraphiQL only when ``dev`` is set.

    ``status_lists`` is the directory of the status list credentials the organisation
    publishes as an auditor (``<name>.jwt``, written by ``oretrail credential revoke``);
    each is read again on every request, so a revocation needs no restart.
    """
    graphql = _NodeGraphQL(security, dev=dev)

    async def status_list(request: Request) -> Response:
        """GET /credentials/status/{name}: a published status list credential (vc+jwt)."""
        name = request.path_params["name"]
        if status_lists is None or not _STATUS_LIST_NAME.fullmatch(name):
            return JSONResponse({"error": "no such status list"}, status_code=404)
        try:
            token = (status_lists / f"{name}.jwt").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return JSONResponse({"error": "no such status list"}, status_code=404)
        return Response(token, media_type="application/vc+jwt")

    async def authenticate(headers: Headers) -> Principal:
        return await security.authority.principal(
            bearer_token(headers),
            headers.get(HEADER_CERTIFICATE),
            headers.get(HEADER_GATEWAY),
            headers.get(HEADER_ROOTS),
            headers.get(HEADER_APPROVED_QUERY),
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

    def log_endpoints(log: AccessLog) -> tuple[Endpoint, Endpoint]:
        async def checkpoint(request: Request) -> Response:
            """GET: the log's latest signed checkpoint (a C2SP note, text/plain)."""
            return PlainTextResponse(log.checkpoint)

        async def consistency(request: Request) -> Response:
            """GET ?from=M&to=N: RFC 9162 consistency proof, a JSON list of base64 hashes."""
            try:
                old, new = int(request.query_params["from"]), int(request.query_params["to"])
                proof = log.consistency(old, new)
            except (KeyError, ValueError):
                return JSONResponse({"error": "from and to must be tree sizes"}, status_code=400)
            except LogTampered as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse([base64.b64encode(h).decode("ascii") for h in proof])

        return checkpoint, consistency

    access_checkpoint, access_consistency = log_endpoints(security.log)
    shipments_checkpoint, shipments_consistency = log_endpoints(security.shipments.log)

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
                # Refusals are logged by the edge: who a refused caller claimed to
                # be is not believed, so only the reason is recorded. The media type
                # layer is outermost: it only names the answer's content type.
                GraphQLMediaType(
                    WitnessedEdge(
                        BodyGuard(
                            BearerProtected(graphql, authenticate),
                            max_bytes=NODE_MAX_BODY_BYTES,
                        ),
                        security.witness,
                    )
                ),
                methods=["GET", "POST"] if dev else ["POST"],
            ),
            Route("/health", health_endpoint(check), methods=["GET"]),
            Route("/.well-known/jwks.json", json_endpoint(lambda: security.jwks), methods=["GET"]),
            Route("/trust/statements", statement, methods=["POST"]),
            # No caller auth: a status list is public, for anyone relying on a credential.
            Route("/credentials/status/{name}", status_list, methods=["GET"]),
            # No caller auth: checkpoints and proofs are for anyone to witness.
            Route("/log/checkpoint", access_checkpoint, methods=["GET"]),
            Route("/log/consistency", access_consistency, methods=["GET"]),
            Route("/log/shipments/checkpoint", shipments_checkpoint, methods=["GET"]),
            Route("/log/shipments/consistency", shipments_consistency, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
