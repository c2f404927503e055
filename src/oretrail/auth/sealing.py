"""Figures sealed for one node: JWE (RFC 7516) with ECDH-ES over X25519 and A256GCM.

A continuation grant must tell the supplier's node how much of its lot the
consuming lot took, so that node can check the claim against its shipments; but
the granter's policy may withhold quantities from the caller, and the gateway
routes every grant. Such figures travel sealed to the audience node's encryption
key (pinned in every registry copy beside its signing key), so neither the
gateway nor the caller's evidence bundle can read them (DESIGN.md, Trust 4).

jwcrypto does the JOSE work; this module fixes the algorithms (no negotiation)
and keeps its untyped API behind typed functions.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jwcrypto import jwe, jwk
from jwcrypto.common import JWException

from oretrail.errors import ConfigError, TokenRejected

__all__ = [
    "EncryptionKey",
    "check_public_encryption_jwk",
    "open_sealed",
    "seal",
]

ALG = "ECDH-ES"
ENC = "A256GCM"
MAX_SEALED_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """A node's private X25519 key for opening what other nodes sealed to it."""

    kid: str
    private: Any  # jwcrypto.jwk.JWK (untyped library)

    @classmethod
    def generate(cls, org: str) -> EncryptionKey:
        kid = f"{org}-enc-{secrets.token_hex(4)}"
        return cls(kid, jwk.JWK.generate(kty="OKP", crv="X25519", kid=kid))

    def public_jwk(self) -> dict[str, str]:
        public: dict[str, str] = self.private.export_public(as_dict=True)
        return {**public, "use": "enc", "alg": ALG}

    def save(self, directory: Path, name: str) -> Path:
        """Write ``<name>.pem`` (private, mode 600) and ``<name>.jwks.json`` (public)."""
        directory.mkdir(parents=True, exist_ok=True)
        pem = directory / f"{name}.pem"
        pem.touch(mode=0o600, exist_ok=True)
        body: bytes = self.private.export_to_pem(private_key=True, password=None)
        pem.write_bytes(f"# kid: {self.kid}\n".encode() + body)
        (directory / f"{name}.jwks.json").write_text(
            json.dumps({"keys": [self.public_jwk()]}, indent=2) + "\n", encoding="utf-8"
        )
        return pem

    @classmethod
    def load(cls, path: Path) -> EncryptionKey:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the encryption key: {exc}") from None
        first, _, rest = data.partition(b"\n")
        if not first.startswith(b"# kid: "):
            raise ConfigError(f"{path}: missing '# kid:' header line")
        kid = first.removeprefix(b"# kid: ").decode("ascii", "replace").strip()
        try:
            private = jwk.JWK.from_pem(rest)
        except (ValueError, TypeError, JWException) as exc:
            raise ConfigError(f"{path}: not a PEM private key: {exc}") from None
        if private.get("crv") != "X25519":
            raise ConfigError(f"{path}: not an X25519 key")
        private["kid"] = kid  # jwcrypto keeps the kid among the key's parameters
        return cls(kid, private)


def check_public_encryption_jwk(raw: Mapping[str, Any]) -> dict[str, str]:
    """A public X25519 JWK as pinned; anything else (a private part too) is refused."""
    if raw.get("kty") != "OKP" or raw.get("crv") != "X25519" or "d" in raw:
        raise ConfigError("an encryption key must be a public OKP X25519 JWK")
    if not isinstance(raw.get("x"), str) or not isinstance(raw.get("kid"), str):
        raise ConfigError("an encryption key needs 'x' and 'kid'")
    return {"kty": "OKP", "crv": "X25519", "x": raw["x"], "kid": raw["kid"], "use": "enc"}


def seal(figures: Mapping[str, float], recipient: Mapping[str, str]) -> str:
    """``figures`` as a compact JWE only the holder of ``recipient``'s private key opens."""
    public = jwk.JWK(**check_public_encryption_jwk(recipient))
    header = {"alg": ALG, "enc": ENC, "kid": recipient["kid"], "cty": "json"}
    token = jwe.JWE(json.dumps(dict(figures)).encode(), protected=json.dumps(header))
    token.add_recipient(public)
    sealed: str = token.serialize(compact=True)
    return sealed


def open_sealed(sealed: object, key: EncryptionKey) -> dict[str, float]:
    """The figures sealed to ``key``; TokenRejected if they cannot be opened or are not
    positive numbers of kilograms."""
    if not isinstance(sealed, str) or not sealed.isascii() or len(sealed) > MAX_SEALED_BYTES:
        raise TokenRejected("sealed figures are not a compact JWE")
    token = jwe.JWE(algs=[ALG, ENC])
    try:
        token.deserialize(sealed, key=key.private)
        figures = json.loads(token.payload)
    except (JWException, ValueError, TypeError, RecursionError) as exc:
        raise TokenRejected(f"sealed figures cannot be opened: {type(exc).__name__}") from None
    if not isinstance(figures, dict) or not all(
        isinstance(k, str) and type(v) in (int, float) and 0 < v < math.inf
        for k, v in figures.items()
    ):
        raise TokenRejected("sealed figures are not kilograms by link")
    return {k: float(v) for k, v in figures.items()}
