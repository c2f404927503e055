"""Ed25519 keys: signing keys, trusted public keys, JWKS, and a cached JWKS source.

One key, one algorithm: every key here is Ed25519 and is used with EdDSA only.
Which issuer a public key speaks for is fixed when it is trusted (pinned in the
registry, or fetched from that issuer's JWKS URL), never taken from a token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from oretrail.errors import ConfigError

__all__ = [
    "KID_PATTERN",
    "JwksSource",
    "KeyRing",
    "SigningKey",
    "TrustedKey",
    "generate_signing_key",
    "jwks_document",
    "load_signing_key",
    "save_signing_key",
    "thumbprint",
    "trusted_key_from_jwk",
]

KID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(public: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of an Ed25519 public key.

    Used as the key id of users' keys, so a certificate names its key unambiguously.
    """
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    members = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}, separators=(",", ":"), sort_keys=True
    )
    return _b64(hashlib.sha256(members.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key and the one issuer it may sign for."""

    issuer: str
    kid: str
    public: Ed25519PublicKey

    def jwk(self) -> dict[str, str]:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key held by its issuer."""

    issuer: str
    kid: str
    private: Ed25519PrivateKey

    def trusted(self) -> TrustedKey:
        return TrustedKey(self.issuer, self.kid, self.private.public_key())


def generate_signing_key(issuer: str, kid: str) -> SigningKey:
    if not KID_PATTERN.fullmatch(kid):
        raise ConfigError(f"key id {kid!r} may hold only letters, digits, '.', '_', '-'")
    return SigningKey(issuer, kid, Ed25519PrivateKey.generate())


def jwks_document(keys: Iterable[TrustedKey]) -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set served at /.well-known/jwks.json."""
    return {"keys": [k.jwk() for k in keys]}


def trusted_key_from_jwk(issuer: str, jwk: Mapping[str, Any]) -> TrustedKey:
    """Trust one public JWK for ``issuer``; anything but an Ed25519 signing key is refused."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ConfigError(
            f"key for {issuer} is not an Ed25519 OKP key "
            f"(kty={jwk.get('kty')!r}, crv={jwk.get('crv')!r})"
        )
    if jwk.get("alg", "EdDSA") != "EdDSA" or jwk.get("use", "sig") != "sig":
        raise ConfigError(f"key for {issuer} is not an EdDSA signing key")
    if "d" in jwk:
        raise ConfigError(f"key for {issuer} holds a private part; publish only public keys")
    kid, x = jwk.get("kid"), jwk.get("x")
    if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid) or not isinstance(x, str):
        raise ConfigError(f"key for {issuer} has no valid kid or x")
    try:
        public = Ed25519PublicKey.from_public_bytes(_unb64(x))
    except ValueError as exc:
        raise ConfigError(f"key {kid} for {issuer} is not a valid Ed25519 key: {exc}") from None
    return TrustedKey(issuer, kid, public)


def save_signing_key(key: SigningKey, directory: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.pem`` (private, mode 600) and ``<name>.jwks.json`` (public)."""
    directory.mkdir(parents=True, exist_ok=True)
    pem = directory / f"{name}.pem"
    body = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    header = f"# issuer: {key.issuer}\n# kid: {key.kid}\n".encode()
    pem.touch(mode=0o600, exist_ok=True)
    pem.write_bytes(header + body)
    jwks = directory / f"{name}.jwks.json"
    jwks.write_text(json.dumps(jwks_document([key.trusted()]), indent=2) + "\n", encoding="utf-8")
    return pem, jwks


def load_signing_key(path: Path) -> SigningKey:
    """Read a key written by :func:`save_signing_key`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read signing key: {exc}") from None
    meta = dict(
        line[2:].split(": ", 1)
        for line in data.decode("ascii", "replace").splitlines()
        if line.startswith("# ") and ": " in line
    )
    try:
        private = serialization.load_pem_private_key(data[data.index(b"-----BEGIN") :], None)
    except ValueError as exc:
        raise ConfigError(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    if "issuer" not in meta or "kid" not in meta:
        raise ConfigError(f"{path}: missing '# issuer:' or '# kid:' header line")
    return SigningKey(meta["issuer"], meta["kid"], private)


@dataclass(slots=True)
class KeyRing:
    """Trusted public keys by key id. Key ids are unique across issuers."""

    keys: dict[str, TrustedKey] = field(default_factory=dict)

    def add(self, key: TrustedKey) -> None:
        known = self.keys.get(key.kid)
        if known is not None and known.issuer != key.issuer:
            raise ConfigError(f"key id {key.kid} is claimed by {known.issuer} and {key.issuer}")
        self.keys[key.kid] = key

    def get(self, kid: str) -> TrustedKey | None:
        return self.keys.get(kid)


Fetch = Callable[[str], Awaitable[Mapping[str, Any]]]


class JwksSource:
    """Keys fetched from issuers' JWKS URLs, refreshed at most once per cooldown per URL.

    An unknown key id never triggers more than one fetch per cooldown, so a flood
    of tokens with random key ids costs one request, not one per token.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        fetch: Fetch,
        *,
        cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._urls = dict(urls)  # issuer -> JWKS URL
        self._fetch = fetch
        self._cooldown = cooldown
        self._clock = clock
        self._ring = KeyRing()
        self._fetched_at: dict[str, float] = {}
        self.fetches = 0

    async def get(self, kid: str) -> TrustedKey | None:
        key = self._ring.get(kid)
        if key is not None:
            return key
        now = self._clock()
        for issuer, url in self._urls.items():
            last = self._fetched_at.get(url)
            if last is not None and now - last < self._cooldown:
                continue
            self._fetched_at[url] = now
            self.fetches += 1
            try:
                document = await self._fetch(url)
                for jwk in document.get("keys", []):
                    self._ring.add(trusted_key_from_jwk(issuer, jwk))
            except (ConfigError, OSError, ValueError, TypeError, AttributeError):
                continue  # a broken JWKS endpoint trusts nothing new
        return self._ring.get(kid)
