"""Signed requests: every gateway operation is authorised by a request its caller signed.

Shaped like an OAuth Transaction Token (draft-ietf-oauth-transaction-tokens), but
issued by the caller's organisation through the user's own certified key, not by
the gateway (DESIGN.md, Trust 2). ``typ: txn+jwt``, signed by the user key (its
kid is the key's thumbprint, auth.callers), with:

- ``iss`` the caller's organisation, ``sub`` the user, ``aud`` the federation;
- ``iat``, ``exp`` (at most 5 minutes, or 1 hour for a job), ``jti``, ``txn``;
- ``ctx``: ``op`` (trace, exposure, transparency, or model for reads of the
  gateway's own model), ``roots`` (lot or facility ids), ``depth``, ``as_of`` (a
  fixed RFC 3339 UTC timestamp), ``purpose``, ``doc`` (the SHA-256 of the GraphQL
  document, or an approved query's id), ``vars`` (the SHA-256 of the RFC 8785
  canonical JSON of the variables), ``line`` (a product line, transparency only).

The gateway accepts a request once (its ``jti``) and forwards it unchanged with
the user's certificate to every node of the operation; each node verifies both
against its own pinned keys. Hashes are base64url SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import rfc8785

from oretrail.auth.callers import UserIdentity, verify_certificate
from oretrail.auth.keys import KeyRing
from oretrail.auth.tokens import (
    FEDERATION,
    KeySource,
    ReplayCache,
    StaticKeys,
    VerifyPolicy,
    mint,
    token_hash,
    verify,
)
from oretrail.errors import TokenRejected

__all__ = [
    "INTERACTIVE_LIFETIME",
    "JOB_LIFETIME",
    "OPERATIONS",
    "REQUEST_TYP",
    "RequestContext",
    "SignedRequest",
    "document_hash",
    "sign_request",
    "variables_hash",
    "verify_request",
]

REQUEST_TYP = "txn+jwt"
INTERACTIVE_LIFETIME = 300
JOB_LIFETIME = 3600
OPERATIONS = frozenset({"trace", "exposure", "transparency", "model"})
MAX_ROOTS = 100
# A sanity bound only: the gateway refuses depths beyond its own maximum, saying so.
MAX_DEPTH = 10**9


def _sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def document_hash(document: str) -> str:
    """SHA-256 of a GraphQL document's text (UTF-8), as a request's ``ctx.doc`` names it."""
    return _sha256(document.encode("utf-8", "surrogatepass"))


def variables_hash(variables: Mapping[str, Any] | None) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of a request's variables ({} when none)."""
    try:
        return _sha256(rfc8785.dumps(dict(variables or {})))
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise TokenRejected(f"variables cannot be canonicalised (RFC 8785): {exc}") from None


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a signed request authorises: one operation over named roots."""

    op: str
    roots: tuple[str, ...] = ()
    depth: int = 20
    as_of: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    purpose: str = ""
    doc: str = ""
    vars: str = ""
    line: str | None = None
    job: bool = False

    @property
    def as_of_date(self) -> date:
        return self.as_of.date()

    def to_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "op": self.op,
            "roots": list(self.roots),
            "depth": self.depth,
            "as_of": self.as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "purpose": self.purpose,
            "doc": self.doc,
            "vars": self.vars,
        }
        if self.line is not None:
            claims["line"] = self.line
        if self.job:
            claims["job"] = True
        return claims

    @classmethod
    def from_claims(cls, raw: object) -> RequestContext:
        if not isinstance(raw, dict):
            raise TokenRejected("signed request has no context (ctx)")
        op, roots, depth = raw.get("op"), raw.get("roots"), raw.get("depth")
        if op not in OPERATIONS:
            raise TokenRejected(
                f"signed request names no known operation (one of {sorted(OPERATIONS)})"
            )
        if (
            not isinstance(roots, list)
            or len(roots) > MAX_ROOTS
            or not all(isinstance(r, str) and 0 < len(r) <= 512 for r in roots)
        ):
            raise TokenRejected(f"signed request's roots are not a list of at most {MAX_ROOTS} ids")
        if type(depth) is not int or not 0 <= depth <= MAX_DEPTH:
            raise TokenRejected("signed request's depth is not a whole number in range")
        texts = {name: raw.get(name) for name in ("as_of", "purpose", "doc", "vars")}
        for name, value in texts.items():
            if not isinstance(value, str) or len(value) > 512:
                raise TokenRejected(f"signed request's {name} is not a short string")
        line = raw.get("line")
        if line is not None and (not isinstance(line, str) or len(line) > 200):
            raise TokenRejected("signed request's line is not a short string")
        try:
            as_of = datetime.fromisoformat(str(texts["as_of"]))
        except ValueError:
            raise TokenRejected("signed request's as_of is not an RFC 3339 timestamp") from None
        if as_of.tzinfo is None:
            raise TokenRejected("signed request's as_of has no time zone")
        return cls(
            op=str(op),
            roots=tuple(roots),
            depth=depth,
            as_of=as_of,
            purpose=str(texts["purpose"]),
            doc=str(texts["doc"]),
            vars=str(texts["vars"]),
            line=line,
            job=raw.get("job") is True,
        )


def sign_request(
    user: UserIdentity,
    context: RequestContext,
    *,
    lifetime: int | None = None,
    now: float | None = None,
) -> str:
    """The user's signed request for ``context`` (lifetime defaults to the maximum allowed)."""
    limit = JOB_LIFETIME if context.job else INTERACTIVE_LIFETIME
    claims = {
        "sub": user.sub,
        "aud": FEDERATION,
        "txn": str(uuid.uuid4()),
        "ctx": context.to_claims(),
    }
    return mint(
        user.key, REQUEST_TYP, claims, lifetime=limit if lifetime is None else lifetime, now=now
    )


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A verified signed request, with the certificate it came with and its hash."""

    token: str
    certificate: str
    hash: str
    org: str
    sub: str
    txn: str
    jti: str
    expires: int
    context: RequestContext


async def verify_request(
    token: object,
    certificate: object,
    org_keys: KeySource,
    *,
    replay: ReplayCache | None = None,
    clock: Callable[[], float] = time.time,
) -> SignedRequest:
    """Verify the certificate against pinned organisation keys, then the request with its key.

    ``replay`` makes the request single-use (the gateway); nodes see one request
    many times (one per hop) and verify it without one.
    """
    user = await verify_certificate(certificate, org_keys, clock=clock)
    lifetime = JOB_LIFETIME
    policy = VerifyPolicy(REQUEST_TYP, FEDERATION, lifetime, single_use=replay is not None)
    ring = KeyRing()
    ring.add(user.key)
    claims = await verify(token, policy, StaticKeys(ring), replay=replay, clock=clock)
    if claims["sub"] != user.sub:
        raise TokenRejected("the signed request's sub is not the certified user")
    context = RequestContext.from_claims(claims.get("ctx"))
    if not context.job and claims["exp"] - claims["iat"] > INTERACTIVE_LIFETIME:
        raise TokenRejected(f"an interactive request lasts at most {INTERACTIVE_LIFETIME} s")
    txn = claims.get("txn")
    if not isinstance(txn, str) or not 0 < len(txn) <= 128:
        raise TokenRejected("signed request lacks 'txn'")
    assert isinstance(token, str)
    assert isinstance(certificate, str)
    return SignedRequest(
        token=token,
        certificate=certificate,
        hash=token_hash(token),
        org=user.org,
        sub=user.sub,
        txn=txn,
        jti=claims["jti"],
        # Usable no longer than the certificate that vouches for its key.
        expires=min(claims["exp"], user.expires),
        context=context,
    )
