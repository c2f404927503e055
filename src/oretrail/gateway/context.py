"""The typed per-request context of the gateway's GraphQL schema."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from oretrail.auth.chain import Caller, Delegation
from oretrail.auth.keys import SigningKey
from oretrail.config import GatewaySettings, Registry
from oretrail.gateway.approved import ApprovedQuery, ApprovedRegistry, Transparency
from oretrail.gateway.node_client import NodeClient
from oretrail.gateway.resilience import NodeGuards
from oretrail.store.model_port import ModelStore

__all__ = ["RESTRICTED_ROLES", "GatewayContext"]

# Callers holding only these roles may run approved transparency queries, by id, only.
RESTRICTED_ROLES = frozenset({"NGO", "AUDITOR"})


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

    def delegation(self, purpose: str) -> Delegation:
        """A fresh trace id and the minting of delegated tokens for this caller."""
        return Delegation(self.signing_key, self.caller, str(uuid.uuid4()), purpose)
