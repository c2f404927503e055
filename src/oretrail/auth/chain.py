"""Delegation and path proofs: delegated tokens from the gateway, continuation grants from nodes.

The gateway mints one delegated token per node per request. A node that reveals an
input lot X owned by B signs a continuation grant for X, addressed to B and bound
to the same caller, the same trace (``txn``) and, by hash, the token it received.
B serves X to a request that carries such a grant (or to a caller directly related
to X); so even the gateway cannot make a node reveal a lot no one legitimately
reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from oretrail.auth.keys import SigningKey
from oretrail.auth.tokens import (
    ACCESS_TYP,
    GATEWAY,
    GRANT_TYP,
    KeySource,
    ReplayCache,
    VerifyPolicy,
    mint,
    node_audience,
    org_issuer,
    token_hash,
    verify,
)
from oretrail.domain.model import parse_lot_id
from oretrail.errors import InvalidLotId, TokenRejected

__all__ = [
    "DELEGATED_LIFETIME",
    "GRANT_LIFETIME",
    "Caller",
    "Delegation",
    "NodeAuthority",
    "Principal",
    "verify_caller",
]

DELEGATED_LIFETIME = 60
GRANT_LIFETIME = 60
CALLER_MAX_LIFETIME = 3600
ORG_ISSUER_PREFIX = "urn:oretrail:org:"


@dataclass(frozen=True, slots=True)
class Caller:
    """A caller verified at the gateway."""

    sub: str
    org: str
    roles: frozenset[str]
    scope: frozenset[str]


async def verify_caller(
    token: object,
    keys: KeySource,
    registered_roles: Callable[[str], Collection[str] | None],
    *,
    clock: Callable[[], float] = time.time,
) -> Caller:
    """Verify a caller token at the gateway; roles are those the registry also grants."""
    policy = VerifyPolicy(ACCESS_TYP, GATEWAY, CALLER_MAX_LIFETIME, single_use=False)
    claims = await verify(token, policy, keys, clock=clock)
    org = claims.get("org")
    if not isinstance(org, str) or claims["iss"] != org_issuer(org):
        raise TokenRejected("a caller token must be issued by the caller's own organisation")
    known = registered_roles(org)
    if known is None:
        raise TokenRejected(f"organisation {org!r} is not a registered participant")
    roles = _strings(claims.get("roles"), "roles")
    return Caller(
        claims["sub"],
        org,
        frozenset(r for r in roles if r in known),
        frozenset(_scope(claims.get("scope"))),
    )


class Delegation:
    """Mints the gateway's delegated tokens for one caller and one trace."""

    def __init__(
        self,
        key: SigningKey,
        caller: Caller,
        txn: str,
        purpose: str,
        approved_by: tuple[str, ...] = (),
    ) -> None:
        self._key = key
        self.caller = caller
        self.txn = txn
        self.purpose = purpose
        # For an approved transparency query: the organisations that approved it.
        self.approved_by = approved_by

    def token_for(self, org: str) -> str:
        claims: dict[str, Any] = {
            "sub": self.caller.sub,
            "org": self.caller.org,
            "aud": node_audience(org),
            "roles": sorted(self.caller.roles),
            "scope": " ".join(sorted(self.caller.scope)),
            "purpose": self.purpose,
            "txn": self.txn,
            "act": {"sub": GATEWAY},
        }
        if self.approved_by:
            claims["approved_by"] = list(self.approved_by)
        return mint(self._key, ACCESS_TYP, claims, lifetime=DELEGATED_LIFETIME)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a node is answering, as the verified delegated token says."""

    sub: str
    org: str
    roles: frozenset[str]
    purpose: str
    txn: str
    token: str
    approved_by: frozenset[str] = frozenset()


class NodeAuthority:
    """A node's side of tokens: verify delegated tokens and grants, issue grants."""

    def __init__(
        self, org: str, key: SigningKey, keys: KeySource, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.org = org
        self._key = key
        self._keys = keys
        self._replay = ReplayCache()
        self._clock = clock
        self._verified_parents: dict[tuple[str, str], dict[str, Any]] = {}

    async def principal(self, token: object) -> Principal:
        policy = VerifyPolicy(
            ACCESS_TYP, node_audience(self.org), DELEGATED_LIFETIME, single_use=True
        )
        claims = await verify(token, policy, self._keys, replay=self._replay, clock=self._clock)
        self._check_delegated(claims)
        assert isinstance(token, str)
        return Principal(
            claims["sub"],
            claims["org"],
            frozenset(_strings(claims["roles"], "roles")),
            claims["purpose"],
            claims["txn"],
            token,
            frozenset(_strings(claims.get("approved_by"), "approved_by")),
        )

    def _check_delegated(self, claims: dict[str, Any]) -> None:
        if claims["iss"] != GATEWAY:
            raise TokenRejected("nodes accept only delegated tokens minted by the gateway")
        if claims.get("act") != {"sub": GATEWAY}:
            raise TokenRejected("delegated token does not name the gateway as actor (act)")
        for name in ("org", "txn", "purpose"):
            if not isinstance(claims.get(name), str) or not claims[name]:
                raise TokenRejected(f"delegated token lacks {name!r}")
        if "roles" not in claims:
            raise TokenRejected("delegated token lacks 'roles'")

    async def check_grant(
        self, principal: Principal, lot: str, grant: str, parent_token: str
    ) -> str:
        """Verify that ``grant`` opens ``lot`` for this request; return the granting org."""
        policy = VerifyPolicy(GRANT_TYP, node_audience(self.org), GRANT_LIFETIME, single_use=True)
        claims = await verify(grant, policy, self._keys, replay=self._replay, clock=self._clock)
        issuer = claims["iss"]
        if not issuer.startswith(ORG_ISSUER_PREFIX):
            raise TokenRejected("continuation grants are signed by nodes, not by the gateway")
        granter = issuer.removeprefix(ORG_ISSUER_PREFIX)
        if claims.get("lot") != lot:
            raise TokenRejected("grant is for another lot")
        try:
            via_owner = parse_lot_id(str(claims.get("via", ""))).org
        except InvalidLotId:
            raise TokenRejected("grant names no valid 'via' lot") from None
        if via_owner != granter:
            raise TokenRejected("grant's 'via' lot does not belong to the granting node")
        if claims.get("txn") != principal.txn:
            raise TokenRejected("grant belongs to another trace (txn mismatch)")
        if claims["sub"] != principal.sub or claims.get("org") != principal.org:
            raise TokenRejected("grant was issued for another caller")
        parent_policy = VerifyPolicy(
            ACCESS_TYP, node_audience(granter), DELEGATED_LIFETIME, single_use=False
        )
        parent = self._verified_parents.get((granter, parent_token))
        if parent is None or self._clock() >= parent["exp"] + parent_policy.leeway:
            try:
                parent = await verify(parent_token, parent_policy, self._keys, clock=self._clock)
            except TokenRejected as exc:
                raise TokenRejected(f"the granting node's token does not verify: {exc}") from None
            self._check_delegated(parent)
            # One request's grants mostly name the same token: verify its signature once.
            if len(self._verified_parents) > 10_000:
                self._verified_parents.clear()
            self._verified_parents[granter, parent_token] = parent
        if claims.get("th") != token_hash(parent_token):
            raise TokenRejected("broken token-hash link: the grant names another token")
        if parent["txn"] != principal.txn or parent["sub"] != principal.sub:
            raise TokenRejected("the granting node was asked for another trace or caller")
        return str(granter)

    def issue_grant(self, principal: Principal, lot: str, via: str) -> str:
        """A continuation grant for input ``lot`` of our lot ``via``, for its owner's node."""
        owner = parse_lot_id(lot).org
        claims = {
            "sub": principal.sub,
            "org": principal.org,
            "aud": node_audience(owner),
            "lot": lot,
            "via": via,
            "txn": principal.txn,
            "th": token_hash(principal.token),
        }
        return mint(self._key, GRANT_TYP, claims, lifetime=GRANT_LIFETIME)


def _strings(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TokenRejected(f"claim {name!r} is not a list of strings")
    return value


def _scope(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise TokenRejected("claim 'scope' is not a space-separated string")
    return value.split()
