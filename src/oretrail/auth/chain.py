"""Delegation and path proofs: delegated tokens from the gateway, continuation grants from nodes.

The gateway mints one delegated token per node per request. A node that reveals
input lots owned by B signs one continuation grant for them, addressed to B, naming
each opened lot under the lot of ours that consumed it (``via``), and bound to the
same caller, the same trace (``txn``) and, by hash, the token it received. B serves
a lot to a request that carries such a grant (or to a caller directly related to
it); so even the gateway cannot make a node reveal a lot no one legitimately
reached.

One grant covers every input one answer opens at one supplier (up to
``GRANT_MAX_LINKS`` links): a signature per lot made grants most of a node's work.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
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
from oretrail.domain.model import LOT_PREFIX, is_local_id, parse_lot_id
from oretrail.errors import TokenRejected

__all__ = [
    "DELEGATED_LIFETIME",
    "GRANT_LIFETIME",
    "GRANT_MAX_LINKS",
    "Caller",
    "Continuation",
    "Delegation",
    "NodeAuthority",
    "Opened",
    "Principal",
    "verify_caller",
]

DELEGATED_LIFETIME = 60
GRANT_LIFETIME = 60
CALLER_MAX_LIFETIME = 3600
ORG_ISSUER_PREFIX = "urn:oretrail:org:"
# Links one grant may name, and the bytes of lot ids it may carry; more are split
# over several grants, so that every grant stays under GRANT_MAX_BYTES once encoded
# (base64 adds a third; header, claims and signature take under 1 KiB). Lot ids
# travel as local ids (the issuer's for ``via``, the audience's for opened lots).
GRANT_MAX_LINKS = 1000
GRANT_MAX_BYTES = 64 * 1024
GRANT_MAX_ID_BYTES = 40 * 1024


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

    async def check_grant(self, principal: Principal, grant: str, parent_token: str) -> Opened:
        """Verify that ``grant`` is a valid link of this request's chain; what does it open?

        A grant may be presented again within its lifetime (a retry, or its lots asked
        over several requests): it is bound to one trace, caller and granting token.
        """
        policy = VerifyPolicy(
            GRANT_TYP,
            node_audience(self.org),
            GRANT_LIFETIME,
            single_use=False,
            max_bytes=GRANT_MAX_BYTES,
        )
        claims = await verify(grant, policy, self._keys, clock=self._clock)
        issuer = claims["iss"]
        if not issuer.startswith(ORG_ISSUER_PREFIX):
            raise TokenRejected("continuation grants are signed by nodes, not by the gateway")
        granter = issuer.removeprefix(ORG_ISSUER_PREFIX)
        opened = _opened_lots(claims.get("inputs"), self.org)
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
            # Grants of one trace mostly name the same few tokens: verify each once.
            if len(self._verified_parents) > 10_000:
                self._verified_parents.clear()
            self._verified_parents[granter, parent_token] = parent
        if claims.get("th") != token_hash(parent_token):
            raise TokenRejected("broken token-hash link: the grant names another token")
        if parent["txn"] != principal.txn or parent["sub"] != principal.sub:
            raise TokenRejected("the granting node was asked for another trace or caller")
        return Opened(granter, opened)

    def issue_grants(
        self, principal: Principal, links: Iterable[tuple[str, str]]
    ) -> list[Continuation]:
        """Grants for input links ``(input lot, our consuming lot)``: one per input owner.

        Owners with more links than fit one grant (GRANT_MAX_LINKS, GRANT_MAX_ID_BYTES)
        get several grants.
        """
        # Per input owner: (input lot id, its local id, the local id of our consuming lot).
        by_owner: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for lot_id, via_id in links:
            input_ref = parse_lot_id(lot_id)
            by_owner[input_ref.org].append((lot_id, input_ref.local, parse_lot_id(via_id).local))
        continuations = []
        for owner, refs in sorted(by_owner.items()):
            for chunk in _chunks(refs):
                inputs: dict[str, list[str]] = defaultdict(list)
                for _, local, via in chunk:
                    inputs[via].append(local)
                claims = {
                    "sub": principal.sub,
                    "org": principal.org,
                    "aud": node_audience(owner),
                    "inputs": inputs,
                    "txn": principal.txn,
                    "th": token_hash(principal.token),
                }
                grant = mint(self._key, GRANT_TYP, claims, lifetime=GRANT_LIFETIME)
                lots = tuple(dict.fromkeys(lot_id for lot_id, _, _ in chunk))
                continuations.append(Continuation(owner, lots, grant))
        return continuations


def _chunks(refs: list[tuple[str, str, str]]) -> Iterator[list[tuple[str, str, str]]]:
    """Runs of links that fit one grant: GRANT_MAX_LINKS, GRANT_MAX_ID_BYTES."""
    chunk: list[tuple[str, str, str]] = []
    size = 0
    for ref in refs:
        # Each link costs its local ids and, at worst, a key of its own (quotes, comma).
        cost = len(ref[1]) + len(ref[2]) + 8
        if chunk and (len(chunk) == GRANT_MAX_LINKS or size + cost > GRANT_MAX_ID_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(ref)
        size += cost
    if chunk:
        yield chunk


@dataclass(frozen=True, slots=True)
class Continuation:
    """A continuation grant a node issued, for its audience ``owner`` and the lots it opens."""

    owner: str
    lots: tuple[str, ...]
    grant: str


@dataclass(frozen=True, slots=True)
class Opened:
    """What a verified grant opens: lots of ours, reached through ``granter``'s lots."""

    granter: str
    lots: frozenset[str]


def _opened_lots(inputs: object, audience: str) -> frozenset[str]:
    """The lots a grant's ``inputs`` claim opens: ``{granter's local id: [our local ids]}``.

    Local ids only: the keys name the issuer's lots and the values ours, so a grant
    cannot name a third party's lot.
    """
    if not isinstance(inputs, dict) or not inputs:
        raise TokenRejected("grant names no inputs")
    prefix = f"{LOT_PREFIX}{audience}:"
    opened: set[str] = set()
    for via, lots in inputs.items():
        if not is_local_id(via):
            raise TokenRejected("grant names an invalid 'via' lot")
        if not isinstance(lots, list) or not lots:
            raise TokenRejected("grant's inputs are not lists of lot ids")
        if not all(is_local_id(local) for local in lots):
            raise TokenRejected("grant names an invalid input lot")
        opened.update(prefix + local for local in lots)
    return frozenset(opened)


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
