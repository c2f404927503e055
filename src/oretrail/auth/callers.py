"""Callers: users' keys and the certificates their organisation gives them.

A user (a person or a service of a member) holds an Ed25519 key of its own; its
organisation's key certifies it for at most 12 hours with a **user certificate**
(``typ: user-cert+jwt``): ``iss`` = the organisation, ``sub`` = the user, ``aud`` =
the federation and ``cnf.jwk`` = the user's public key (RFC 7800 proof of
possession). The organisation key stays with the organisation; the user signs
its requests (auth.requests) with its own key, whose key id is its RFC 7638
thumbprint. Verifiers check the certificate against the organisation key pinned
in their own registry copy (auth.pinned), never against a key a token carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from oretrail.auth.keys import (
    SigningKey,
    TrustedKey,
    load_signing_key,
    save_signing_key,
    thumbprint,
    trusted_key_from_jwk,
)
from oretrail.auth.tokens import (
    FEDERATION,
    KeySource,
    VerifyPolicy,
    mint,
    org_issuer,
    org_of,
    verify,
)
from oretrail.errors import ConfigError, TokenRejected

__all__ = [
    "CERTIFICATE_MAX_LIFETIME",
    "USER_CERT_TYP",
    "CertifiedUser",
    "UserIdentity",
    "certify_user",
    "verify_certificate",
]

USER_CERT_TYP = "user-cert+jwt"
CERTIFICATE_MAX_LIFETIME = 12 * 3600
DEFAULT_CERTIFICATE_LIFETIME = 8 * 3600


def certify_user(
    org_key: SigningKey,
    sub: str,
    user_key: TrustedKey,
    *,
    lifetime: int = DEFAULT_CERTIFICATE_LIFETIME,
    now: float | None = None,
) -> str:
    """The organisation's certificate for one user key (``lifetime`` seconds, ≤ 12 h)."""
    if lifetime > CERTIFICATE_MAX_LIFETIME:
        raise ConfigError(f"a user certificate lasts at most {CERTIFICATE_MAX_LIFETIME} s")
    claims = {"sub": sub, "aud": FEDERATION, "cnf": {"jwk": user_key.jwk()}}
    return mint(org_key, USER_CERT_TYP, claims, lifetime=lifetime, now=now)


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """What a user holds: its own signing key and its organisation's certificate for it."""

    org: str
    sub: str
    key: SigningKey
    certificate: str

    @classmethod
    def generate(
        cls,
        org_key: SigningKey,
        sub: str,
        *,
        lifetime: int = DEFAULT_CERTIFICATE_LIFETIME,
        now: float | None = None,
    ) -> UserIdentity:
        """A fresh user key, certified by ``org_key`` (development, demo, tests)."""
        org = org_of(org_key.issuer)
        if org is None:
            raise ConfigError("user keys are certified by an organisation key")
        private = Ed25519PrivateKey.generate()
        key = SigningKey(org_issuer(org), thumbprint(private.public_key()), private)
        certificate = certify_user(org_key, sub, key.trusted(), lifetime=lifetime, now=now)
        return cls(org, sub, key, certificate)

    def save(self, directory: Path) -> Path:
        """Write ``<sub>.pem`` (private, mode 600) and ``<sub>.cert``; returns the .pem."""
        name = _file_name(self.sub)
        pem, _ = save_signing_key(self.key, directory, name)
        (directory / f"{name}.cert").write_text(self.certificate + "\n", encoding="ascii")
        (directory / f"{name}.jwks.json").unlink(missing_ok=True)
        return pem

    @classmethod
    def load(cls, pem: Path) -> UserIdentity:
        """Read a user key and its certificate written by :meth:`save`."""
        key = load_signing_key(pem)
        org = org_of(key.issuer)
        cert_path = pem.with_suffix(".cert")
        try:
            certificate = cert_path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cert_path}: cannot read the user certificate: {exc}") from None
        if org is None:
            raise ConfigError(f"{pem}: not a user key of an organisation")
        return cls(org, pem.stem, key, certificate)


def _file_name(sub: str) -> str:
    return "".join(c if c.isalnum() or c in "._-@" else "_" for c in sub)[:100]


@dataclass(frozen=True, slots=True)
class CertifiedUser:
    """A verified certificate: who the user is and the key it signs with."""

    org: str
    sub: str
    key: TrustedKey
    expires: int


async def verify_certificate(
    certificate: object, org_keys: KeySource, *, clock: Callable[[], float] = time.time
) -> CertifiedUser:
    """Verify a user certificate against pinned organisation keys."""
    policy = VerifyPolicy(USER_CERT_TYP, FEDERATION, CERTIFICATE_MAX_LIFETIME, single_use=False)
    try:
        claims = await verify(certificate, policy, org_keys, clock=clock)
    except TokenRejected as exc:
        raise TokenRejected(f"user certificate: {exc}") from None
    org = org_of(claims["iss"])
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if org is None or not isinstance(jwk, dict):
        raise TokenRejected("user certificate names no organisation or no key (cnf.jwk)")
    try:
        key = trusted_key_from_jwk(org_issuer(org), jwk)
    except ConfigError as exc:
        raise TokenRejected(f"user certificate: {exc}") from None
    if key.kid != thumbprint(key.public):
        raise TokenRejected("user certificate: the key id is not the key's thumbprint")
    return CertifiedUser(org, claims["sub"], key, claims["exp"])
