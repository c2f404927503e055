"""Minting and verifying JWS tokens: the one verifier every token kind goes through.

The kinds (``typ``), who signs each and what it says, are in docs/permissions.md:
user certificates, signed requests, the gateway's authentication to nodes,
continuation grants, member statements and product-line root lists. Every verifier
requires ``exp``, ``iat``, ``iss``, ``aud``, ``sub`` and ``jti`` and an explicit
``typ``; accepts EdDSA only, with a key it already trusts by ``kid``; never
follows a key-carrying header (``jku``, ``x5u``, ``jwk``, ``x5c``); and checks every
time claim against an injected clock. Every refusal is a :class:`TokenRejected`
naming the check that failed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from oretrail.auth.keys import KID_PATTERN, KeyRing, SigningKey, TrustedKey
from oretrail.errors import TokenRejected

__all__ = [
    "FEDERATION",
    "GATEWAY",
    "KeySource",
    "ReplayCache",
    "StaticKeys",
    "VerifyPolicy",
    "mint",
    "node_audience",
    "node_issuer",
    "org_issuer",
    "org_of",
    "token_hash",
    "verify",
]

GATEWAY = "urn:oretrail:gateway"
# The audience of what a caller's organisation signs for the whole federation:
# user certificates, signed requests, member statements, product-line root lists.
FEDERATION = "urn:oretrail:federation"
ORG_PREFIX = "urn:oretrail:org:"
NODE_PREFIX = "urn:oretrail:node:"
REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti")
# Headers that would make us fetch or accept a key named by the token itself.
KEY_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256")
MAX_TOKEN_BYTES = 8192
# Unpadded base64url, as JWS segments are encoded (RFC 7515, section 2).
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def org_issuer(org: str) -> str:
    """The issuer an organisation's key (and its users' keys) sign as."""
    return f"{ORG_PREFIX}{org}"


def node_issuer(org: str) -> str:
    """The issuer an organisation's node key signs as (grants)."""
    return f"{NODE_PREFIX}{org}"


def node_audience(org: str) -> str:
    """The audience of tokens and grants meant for an organisation's node."""
    return node_issuer(org)


def org_of(issuer: str, prefix: str = ORG_PREFIX) -> str | None:
    """The organisation an issuer URN names under ``prefix``, or None."""
    return issuer.removeprefix(prefix) if issuer.startswith(prefix) else None


def token_hash(token: str) -> str:
    """SHA-256 of a token, base64url: how a grant names the token its node received."""
    digest = hashlib.sha256(token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class KeySource(Protocol):
    async def get(self, kid: str) -> TrustedKey | None: ...


class StaticKeys:
    """A KeySource over keys pinned in configuration."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def get(self, kid: str) -> TrustedKey | None:
        return self._ring.get(kid)


class ReplayCache:
    """Token ids seen until their expiry; single-use tokens are refused the second time."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def remember(self, issuer: str, jti: str, expires: float, now: float) -> None:
        if len(self._seen) > 10_000:
            self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
        key = f"{issuer} {jti}"
        if key in self._seen:
            raise TokenRejected(f"token id {jti[:40]!r} was already used")
        self._seen[key] = expires


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What one verifier accepts."""

    typ: str
    # None: the token must carry one audience, which the caller checks itself
    # (a grant's ancestors in a chain are addressed to other nodes).
    audience: str | None
    max_lifetime: int
    single_use: bool
    leeway: int = 5
    max_bytes: int = MAX_TOKEN_BYTES


def mint(
    key: SigningKey, typ: str, claims: Mapping[str, Any], *, lifetime: int, now: float | None = None
) -> str:
    """Sign ``claims`` with ``iss``, ``iat``, ``exp`` and a fresh ``jti`` added."""
    issued = int(time.time() if now is None else now)
    payload = {
        "jti": secrets.token_urlsafe(16),
        **claims,
        "iss": key.issuer,
        "iat": issued,
        "exp": issued + lifetime,
    }
    return jwt.encode(payload, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": typ})


async def verify(
    token: object,
    policy: VerifyPolicy,
    keys: KeySource,
    *,
    replay: ReplayCache | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The verified claims of ``token``, or TokenRejected naming the failed check."""
    if not isinstance(token, str) or not token:
        raise TokenRejected("no token")
    if not token.isascii():  # a JWS is base64url and dots; anything else is not one
        raise TokenRejected("token is not a well-formed JWS")
    if len(token) > policy.max_bytes:
        raise TokenRejected(f"token is longer than {policy.max_bytes} bytes")
    header = _header(token)
    if not _expected_typ(header.get("typ"), policy.typ):
        raise TokenRejected(f"token type is not {policy.typ}")
    key = await keys.get(header["kid"])
    if key is None:
        raise TokenRejected("token is signed with a key id that is not trusted")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public,
            algorithms=["EdDSA"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
                "require": [],
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected("signature does not verify") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"token cannot be decoded: {type(exc).__name__}") from None
    except (ValueError, RecursionError) as exc:  # odd bytes, or nesting deeper than json goes
        raise TokenRejected(f"token cannot be decoded: {type(exc).__name__}") from None
    now = clock()
    _check_claims(claims, policy, key, now)
    if policy.single_use:
        if replay is None:
            raise TokenRejected("single-use tokens need a replay cache")
        replay.remember(claims["iss"], claims["jti"], claims["exp"], now)
    return claims


def _header(token: str) -> dict[str, Any]:
    # Only the header segment is read here; jwt.decode then checks the whole token.
    # (pyjwt's own get_unverified_header decodes and checks the payload too, which
    # doubled the cost of verifying a grant that names a thousand lots.)
    segment, dot, _ = token.partition(".")
    try:
        if not dot or not _BASE64URL.fullmatch(segment):
            raise ValueError("not a base64url segment followed by a payload")
        raw = base64.b64decode(segment + "=" * (-len(segment) % 4), b"-_", validate=True)
        header = json.loads(raw)
    except (ValueError, RecursionError):  # bad base64 or JSON; nesting deeper than json goes
        raise TokenRejected("token is not a well-formed JWS") from None
    if not isinstance(header, dict):
        raise TokenRejected("token header is not an object")
    if header.get("alg") != "EdDSA":
        raise TokenRejected(f"algorithm {str(header.get('alg'))[:20]!r} is not accepted")
    for name in KEY_HEADERS:
        if name in header:
            raise TokenRejected(
                f"header {name!r} is not accepted: keys are never taken from a token"
            )
    if "crit" in header:
        raise TokenRejected("token has critical header extensions this verifier does not know")
    kid = header.get("kid")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
        raise TokenRejected("token has no valid key id (kid)")
    return header


def _expected_typ(typ: object, expected: str) -> bool:
    if not isinstance(typ, str):
        return False
    return typ.lower().removeprefix("application/") == expected


def _check_claims(
    claims: dict[str, Any], policy: VerifyPolicy, key: TrustedKey, now: float
) -> None:
    for name in REQUIRED:
        if name not in claims:
            raise TokenRejected(f"token lacks the required claim {name!r}")
    for name in ("exp", "iat", "nbf"):
        if name in claims and not _is_seconds(claims[name]):
            raise TokenRejected(f"claim {name!r} is not a number of seconds")
    if now >= claims["exp"] + policy.leeway:
        raise TokenRejected("token has expired")
    if claims["iat"] > now + policy.leeway:
        raise TokenRejected("token is issued in the future")
    if "nbf" in claims and claims["nbf"] > now + policy.leeway:
        raise TokenRejected("token is not valid yet (nbf)")
    if claims["exp"] - claims["iat"] > policy.max_lifetime:
        raise TokenRejected(f"token lifetime exceeds {policy.max_lifetime} s")
    if claims["iss"] != key.issuer:
        raise TokenRejected("issuer does not match the key that signed the token")
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) == 1:
        aud = claims["aud"] = aud[0]
    if not isinstance(aud, str) or (policy.audience is not None and aud != policy.audience):
        raise TokenRejected("token is not meant for this audience")
    for name in ("sub", "jti"):
        value = claims[name]
        if not isinstance(value, str) or not value or len(value) > 256:
            raise TokenRejected(f"claim {name!r} is not a short non-empty string")
        if not value.isprintable() or any("\ud800" <= c <= "\udfff" for c in value):
            raise TokenRejected(f"claim {name!r} holds a lone surrogate or a control character")


def _is_seconds(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
