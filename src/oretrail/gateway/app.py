"""The gateway's ASGI app: GraphQL at /graphql, health at /health, the trace viewer at /.

One aiohttp session and one model store (a Neo4j driver, or the embedded store)
live for the app's lifetime, opened and closed by its lifespan.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from oretrail.asgi import BearerProtected, bearer_token, health_endpoint, json_endpoint
from oretrail.auth.keys import SigningKey
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.principal import HEADER_CERTIFICATE
from oretrail.auth.requests import verify_request
from oretrail.auth.tokens import ReplayCache
from oretrail.body_guard import BodyGuard
from oretrail.config import GatewaySettings, Registry
from oretrail.domain.commodities import CommodityProfile
from oretrail.errors import StoreError, TokenRejected
from oretrail.gateway.approved import ApprovedRegistry, Transparency
from oretrail.gateway.audit_credentials import AuditCredentials, StatusListCache, http_download
from oretrail.gateway.context import Caller
from oretrail.gateway.node_client import HttpNodeClient, NodeClient
from oretrail.gateway.resilience import NodeGuards
from oretrail.gateway.schema import GatewayContext, build_gateway_schema
from oretrail.gateway.trusted import TrustedDocuments
from oretrail.gateway.viewer import viewer_routes
from oretrail.graphql_http import GraphQLMediaType, GraphQLOverHTTP
from oretrail.store.model_port import ModelStore, ParticipantRecord

__all__ = ["GatewaySecurity", "ModelOpener", "build_gateway_app"]

log = logging.getLogger("oretrail.gateway")

ModelOpener = Callable[[], AbstractAsyncContextManager[ModelStore]]


@dataclass(frozen=True, slots=True)
class GatewaySecurity:
    """The gateway's own key (its authentication to nodes) and its copy of members' keys."""

    signing_key: SigningKey
    pinned: PinnedRegistry
    jwks: dict[str, Any]
    transparency: Transparency = field(default_factory=lambda: Transparency(ApprovedRegistry(), {}))
    # Commodity due-diligence profiles (config/commodities/), read strictly at start.
    commodities: tuple[CommodityProfile, ...] = ()


class _GatewayGraphQL(GraphQLOverHTTP[GatewayContext]):
    def __init__(
        self,
        registry: Registry,
        settings: GatewaySettings,
        security: GatewaySecurity,
        *,
        dev: bool,
    ) -> None:
        super().__init__(
            build_gateway_schema(dev=dev),
            graphql_ide="graphiql" if dev else None,
            allow_queries_via_get=False,
        )
        self.registry = registry
        self.settings = settings
        self.security = security
        self.guards = NodeGuards(settings.resilience)
        self.client: NodeClient | None = None
        self.model: ModelStore | None = None
        self.credentials: AuditCredentials | None = None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GatewayContext:
        assert self.client is not None, "the app's lifespan opens the node client"
        assert self.model is not None, "the app's lifespan opens the model store"
        caller: Caller = request.state.principal
        return GatewayContext(
            transparency=self.security.transparency,
            approved=getattr(request.state, "approved", None),
            guards=self.guards,
            registry=self.registry,
            client=self.client,
            settings=self.settings,
            model=self.model,
            caller=caller,
            signing_key=self.security.signing_key,
            pinned=self.security.pinned,
            caller_gone=request.is_disconnected if isinstance(request, Request) else _open,
            commodities=self.security.commodities,
            credentials=self.credentials,
        )


async def _open() -> bool:
    return False


def build_gateway_app(
    registry: Registry,
    settings: GatewaySettings,
    open_model: ModelOpener,
    security: GatewaySecurity,
    *,
    dev: bool = False,
    client: NodeClient | None = None,
) -> Starlette:
    """The gateway. Without ``client`` it opens one aiohttp session for its lifetime."""
    graphql = _GatewayGraphQL(registry, settings, security, dev=dev)

    # Each signed request is accepted once (its jti), as the contract asks.
    replay = ReplayCache()

    async def authenticate(headers: Headers) -> Caller:
        request = await verify_request(
            bearer_token(headers),
            headers.get(HEADER_CERTIFICATE),
            security.pinned.org_keys,
            replay=replay,
        )
        participant = registry.participants.get(request.org)
        if participant is None:
            raise TokenRejected(f"organisation {request.org!r} is not a registered participant")
        return Caller(request, frozenset(str(r) for r in participant.roles))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_model() as model, contextlib.AsyncExitStack() as stack:
            graphql.model = model
            await _register(model, registry)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            graphql.client = client or HttpNodeClient(session, timeout=settings.node_timeout)
            # Auditors' status lists, read from their endpoints (gateway.audit_credentials).
            graphql.credentials = AuditCredentials(
                security.pinned, StatusListCache(http_download(session))
            )
            yield

    async def check() -> dict[str, Any]:
        assert graphql.model is not None
        await graphql.model.ping()
        return {"status": "ok", "participants": len(registry.participants), "model": "ok"}

    return Starlette(
        routes=[
            Route(
                "/graphql",
                GraphQLMediaType(
                    BodyGuard(
                        BearerProtected(
                            TrustedDocuments(graphql, security.transparency), authenticate
                        )
                    )
                ),
                methods=["GET", "POST"] if dev else ["POST"],
            ),
            Route("/health", health_endpoint(check), methods=["GET"]),
            Route("/.well-known/jwks.json", json_endpoint(lambda: security.jwks), methods=["GET"]),
            # Static files only: the page signs its requests in the browser (docs/viewer.md).
            *viewer_routes(),
        ],
        lifespan=lifespan,
    )


async def _register(model: ModelStore, registry: Registry) -> None:
    """Record the participants; a store that is down now must not stop the gateway."""
    records = [
        ParticipantRecord(p.id, p.name, tuple(str(r) for r in p.roles), p.country, p.endpoint)
        for p in registry.participants.values()
    ]
    try:
        await model.register_participants(records)
    except StoreError as exc:
        log.warning("participants not recorded in the model (will serve anyway): %s", exc)
