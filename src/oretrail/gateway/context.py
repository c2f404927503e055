"""The typed per-request context of the gateway's GraphQL schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from oretrail.auth.declarations import HEADER_APPROVED_QUERY
from oretrail.auth.gateway_auth import gateway_token
from oretrail.auth.keys import SigningKey
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.principal import HEADER_CERTIFICATE, HEADER_GATEWAY, HEADER_ROOTS
from oretrail.auth.requests import RequestContext, SignedRequest
from oretrail.config import GatewaySettings, Registry
from oretrail.domain.commodities import CommodityProfile
from oretrail.errors import Forbidden
from oretrail.gateway.approved import ApprovedQuery, ApprovedRegistry, Transparency
from oretrail.gateway.audit_credentials import AuditCredentials
from oretrail.gateway.node_client import NodeClient
from oretrail.gateway.resilience import NodeGuards
from oretrail.store.model_port import ModelStore

__all__ = ["RESTRICTED_ROLES", "Caller", "GatewayContext"]

# Callers holding only these roles may run approved transparency queries, by id, only.
RESTRICTED_ROLES = frozenset({"NGO", "AUDITOR"})


async def _never_gone() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller verified at the gateway: its signed request, and the roles the registry
    gives its organisation (roles only ever narrow what a caller may do)."""

    request: SignedRequest
    roles: frozenset[str]

    @property
    def org(self) -> str:
        return self.request.org

    @property
    def sub(self) -> str:
        return self.request.sub


@dataclass(slots=True)
class GatewayContext:
    """Per-request context: who calls, and what the gateway answers with."""

    registry: Registry
    client: NodeClient
    settings: GatewaySettings
    model: ModelStore
    caller: Caller
    signing_key: SigningKey
    transparency: Transparency = field(default_factory=lambda: Transparency(ApprovedRegistry(), {}))
    # The approved query this request runs, when it came in by document id.
    approved: ApprovedQuery | None = None
    # Breakers and concurrency limits per node, shared by every request of this gateway.
    guards: NodeGuards = field(default_factory=NodeGuards)
    # The gateway's pinned registry copy: the snapshot an evidence bundle names.
    pinned: PinnedRegistry | None = None
    # Whether the caller has closed its connection (the HTTP request's disconnect).
    caller_gone: Callable[[], Awaitable[bool]] = _never_gone
    # Commodity due-diligence profiles (issue 15).
    commodities: tuple[CommodityProfile, ...] = ()
    # Checks the audit credentials nodes present (None: they count as plain records).
    credentials: AuditCredentials | None = None

    def authorised(self, op: str, roots: tuple[str, ...] | None = None) -> RequestContext:
        """The signed request's context, if it authorises ``op`` over exactly ``roots``."""
        context = self.caller.request.context
        if context.op != op:
            raise Forbidden(f"the signed request authorises {context.op!r}, not {op!r}")
        if roots is not None and context.roots != roots:
            raise Forbidden(
                f"the signed request names the roots {list(context.roots)[:5]}, "
                f"not {list(roots)[:5]}"
            )
        return context

    def node_headers(
        self, roots_list: str | None = None, declaration: str | None = None
    ) -> NodeHeaders:
        """Makes the headers of each call to a node: the caller's request, unchanged."""
        return NodeHeaders(self.signing_key, self.caller.request, roots_list, declaration)


class NodeHeaders:
    """The caller's signed request and certificate, forwarded unchanged, plus a fresh
    gateway token for each call (auth.gateway_auth)."""

    def __init__(
        self,
        key: SigningKey,
        request: SignedRequest,
        roots_list: str | None,
        declaration: str | None = None,
    ) -> None:
        self._key = key
        self._request = request
        self._roots = roots_list
        # An approved query's declaration, forwarded for nodes to check (auth.declarations).
        self._declaration = declaration

    def __call__(self, node: str) -> Mapping[str, str]:
        headers = {
            "Authorization": f"Bearer {self._request.token}",
            HEADER_CERTIFICATE: self._request.certificate,
            HEADER_GATEWAY: gateway_token(self._key, node, self._request.hash),
        }
        if self._roots is not None:
            headers[HEADER_ROOTS] = self._roots
        if self._declaration is not None:
            headers[HEADER_APPROVED_QUERY] = self._declaration
        return headers
