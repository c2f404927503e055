"""Who a node is answering: the caller's own signed request, checked against pinned keys.

Every data request to a node carries three things (DESIGN.md, Trust 2):

- ``Authorization: Bearer <signed request>``: the caller's request, unchanged;
- ``Oretrail-User-Certificate``: the caller's certificate from its organisation;
- ``Oretrail-Gateway``: the gateway's token for this call (auth.gateway_auth);

and, for a transparency request, ``Oretrail-Roots``: the product line owner's
signed root list for one reporting period (auth.roots), and
``Oretrail-Approved-Query``: the approved query's declaration, which the node
checks against the digest its own policy lists (auth.declarations). The node
verifies all of them against its own pinned registry copy; the caller's
organisation and roles come from the certificate and that copy, never from
anything the gateway says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from oretrail.auth.claims import ClaimLedger
from oretrail.auth.gateway_auth import verify_gateway_token
from oretrail.auth.grants import GrantIssuer, GrantVerifier
from oretrail.auth.keys import SigningKey
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.requests import SignedRequest, verify_request
from oretrail.auth.roots import verify_root_list
from oretrail.auth.sealing import EncryptionKey
from oretrail.auth.tokens import ReplayCache, node_issuer
from oretrail.errors import TokenRejected

__all__ = [
    "HEADER_CERTIFICATE",
    "HEADER_GATEWAY",
    "HEADER_ROOTS",
    "NodeAuthority",
    "Principal",
]

HEADER_CERTIFICATE = "oretrail-user-certificate"
HEADER_GATEWAY = "oretrail-gateway"
HEADER_ROOTS = "oretrail-roots"


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller and what its signed request lets this node open directly."""

    request: SignedRequest
    roles: frozenset[str]
    # Lot ids this request names as roots (for transparency: the owner's signed list).
    roots: frozenset[str]
    # Transparency only: the reporting period the owner's root list is for, and the
    # approved query's declaration as forwarded (checked against the node's policy).
    roots_period: str | None = None
    declaration: str | None = None

    @property
    def org(self) -> str:
        return self.request.org

    @property
    def sub(self) -> str:
        return self.request.sub

    @property
    def op(self) -> str:
        return self.request.context.op

    @property
    def purpose(self) -> str:
        context = self.request.context
        return f"{context.op}:{context.doc}" if context.op == "transparency" else context.op

    @property
    def txn(self) -> str:
        return self.request.txn


class NodeAuthority:
    """A node's side of trust: its node key, its pinned registry copy, its claim ledger."""

    def __init__(
        self,
        org: str,
        node_key: SigningKey,
        pinned: PinnedRegistry,
        ledger: ClaimLedger | None = None,
        encryption_key: EncryptionKey | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if node_key.issuer != node_issuer(org):
            raise TokenRejected(f"a node of {org} signs with its node key, not {node_key.issuer}")
        self.org = org
        self.pinned = pinned
        self.ledger = ledger or ClaimLedger()
        # Looked up on each grant: a statement may change a member's encryption key.
        self.issuer = GrantIssuer(org, node_key, pinned.encryption_key)
        self.verifier = GrantVerifier(org, pinned.node_keys, encryption_key, clock=clock)
        self._replay = ReplayCache()
        self._clock = clock
        # Verified signed requests by (request, certificate): one trace brings the same
        # request to a node once per hop; it is verified once, until it expires.
        self._requests: dict[tuple[str, str], SignedRequest] = {}
        # The newest root list seen per (owner, line, period): an owner withdraws a
        # root by signing a newer list, and an older one is refused from then on.
        self._root_lists: dict[tuple[str, str, str], int] = {}

    async def principal(
        self,
        authorization: str | None,
        certificate: str | None,
        gateway: str | None,
        roots: str | None = None,
        declaration: str | None = None,
    ) -> Principal:
        """Verify a request's credentials; TokenRejected names the first that fails."""
        if not authorization or not certificate:
            raise TokenRejected("a caller's signed request and user certificate are required")
        if not gateway:
            raise TokenRejected("the gateway's authentication is required")
        request = await self._verified_request(authorization, certificate)
        await verify_gateway_token(
            gateway,
            self.pinned.gateway_keys,
            self.org,
            request.hash,
            self._replay,
            clock=self._clock,
        )
        context = request.context
        opened = frozenset(context.roots)
        if context.op == "transparency":
            if context.line is None or roots is None:
                raise TokenRejected("a transparency request needs its product line's root list")
            listed = await verify_root_list(
                roots, self.pinned.org_keys, context.line, clock=self._clock
            )
            seen = (listed.owner, listed.line, listed.period)
            newest = self._root_lists.setdefault(seen, listed.issued)
            if listed.issued < newest:
                raise TokenRejected("a newer root list of this product line has been seen")
            self._root_lists[seen] = listed.issued
            # Only the line's owner lists roots: they are its own lots.
            opened = frozenset(r for r in listed.roots if r.split(":")[3:4] == [listed.owner])
            return Principal(
                request, self.pinned.roles(request.org), opened, listed.period, declaration
            )
        return Principal(request, self.pinned.roles(request.org), opened)

    def forget_requests(self) -> None:
        """Drop verified requests: the pinned keys changed, every request is checked again."""
        self._requests.clear()

    async def _verified_request(self, authorization: str, certificate: str) -> SignedRequest:
        now = self._clock()
        cached = self._requests.get((authorization, certificate))
        # The leeway the verifier allows past exp is not extended here: 0 s.
        if cached is not None and now < cached.expires:
            return cached
        request = await verify_request(
            authorization, certificate, self.pinned.org_keys, clock=self._clock
        )
        if len(self._requests) > 10_000:
            self._requests = {k: r for k, r in self._requests.items() if r.expires > now}
        self._requests[authorization, certificate] = request
        return request
