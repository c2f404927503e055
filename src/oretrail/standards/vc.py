"""W3C Verifiable Credentials 2.0 secured with JOSE: ``vc+jwt`` (VC-JOSE-COSE, section 3.1).

The credential itself is the JWS payload (no ``vc`` claim, no JWT claim mapping); the
protected header carries ``alg`` EdDSA, ``typ`` ``vc+jwt``, ``cty`` ``vc`` and the
issuer's key id. A member signs with its **organisation key** (DESIGN.md, "Who signs
what"), on its own side: the gateway, which holds no member key, returns credentials
unsigned. Verification pins one key to one algorithm and refuses headers that would
name a key (``jku``, ``x5u``, ``jwk``, ``x5c``...) or demand unknown processing (``crit``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jwt

from oretrail.auth.keys import SigningKey, TrustedKey
from oretrail.errors import TokenRejected

__all__ = [
    "VC_CONTEXT",
    "VC_JWT_TYP",
    "CredentialRejected",
    "issuer_id",
    "sign_credential",
    "verify_credential",
]

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_JWT_TYP = "vc+jwt"
# Headers that would make a verifier fetch or accept a key the token names itself,
# or process extensions it does not know.
_REFUSED_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit")
MAX_CREDENTIAL_BYTES = 1 << 20


class CredentialRejected(TokenRejected):
    """A secured credential whose signature, header or issuer does not verify."""


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The credential's issuer id: ``issuer`` as a string or as an object with ``id``."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def sign_credential(credential: Mapping[str, Any], key: SigningKey) -> str:
    """The credential as a compact ``vc+jwt`` JWS signed with ``key`` (EdDSA).

    Raises CredentialRejected when the credential names an issuer other than the key's
    (an organisation signs only its own credentials).
    """
    if issuer_id(credential) != key.issuer:
        raise CredentialRejected(
            f"the credential's issuer {issuer_id(credential)!r} is not the key's {key.issuer!r}"
        )
    payload = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"typ": VC_JWT_TYP, "cty": "vc", "kid": key.kid}
    return jwt.PyJWS().encode(payload, key.private, algorithm="EdDSA", headers=headers)


def verify_credential(token: str, key: TrustedKey) -> dict[str, Any]:
    """The credential a ``vc+jwt`` secures, once its signature verifies with ``key``.

    ``key`` is the issuer's public key, pinned by the verifier (never taken from the
    token); the credential's ``issuer`` must be the key's issuer. Raises
    CredentialRejected naming what failed.
    """
    if not isinstance(token, str) or len(token) > MAX_CREDENTIAL_BYTES:
        raise CredentialRejected("not a compact JWS of a sensible size")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise CredentialRejected(f"unreadable header: {exc}") from None
    if header.get("typ") != VC_JWT_TYP:
        raise CredentialRejected(f"typ {header.get('typ')!r} is not {VC_JWT_TYP!r}")
    refused = [name for name in _REFUSED_HEADERS if name in header]
    if refused:
        raise CredentialRejected(f"refused header parameter(s): {', '.join(refused)}")
    if header.get("kid") != key.kid:
        raise CredentialRejected(f"kid {header.get('kid')!r} is not the issuer's key {key.kid}")
    try:
        payload = jwt.PyJWS().decode(token, key.public, algorithms=["EdDSA"])
    except jwt.PyJWTError as exc:
        raise CredentialRejected(f"signature does not verify: {exc}") from None
    try:
        credential = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise CredentialRejected("the payload is not JSON") from None
    if not isinstance(credential, dict):
        raise CredentialRejected("the payload is not a JSON object")
    if issuer_id(credential) != key.issuer:
        raise CredentialRejected(
            f"the credential names issuer {issuer_id(credential)!r}, not {key.issuer!r}"
        )
    return credential
