"""The keys of a federation: the gateway's and each participant's, generated or loaded."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oretrail.auth.keys import (
    JwksSource,
    KeyRing,
    SigningKey,
    TrustedKey,
    generate_signing_key,
    load_signing_key,
    save_signing_key,
)
from oretrail.auth.tokens import ACCESS_TYP, GATEWAY, mint, org_issuer
from oretrail.errors import ConfigError

__all__ = ["GATEWAY_KEY", "FederationKeys", "FirstOf"]

GATEWAY_KEY = "gateway"
CALLER_LIFETIME = 900


def _issuer(name: str) -> str:
    return GATEWAY if name == GATEWAY_KEY else org_issuer(name)


@dataclass(frozen=True, slots=True)
class FederationKeys:
    """Signing keys by owner ("gateway" or an organisation id)."""

    signing: Mapping[str, SigningKey]

    @classmethod
    def generate(cls, orgs: Iterable[str]) -> FederationKeys:
        """Fresh keys for the gateway and every organisation (demo, tests)."""
        names = [GATEWAY_KEY, *orgs]
        return cls(
            {n: generate_signing_key(_issuer(n), f"{n}-{secrets.token_hex(4)}") for n in names}
        )

    @classmethod
    def load(cls, directory: Path, orgs: Iterable[str]) -> FederationKeys:
        """Keys written by ``oretrail keys generate``; the gateway's is required."""
        keys = {}
        for name in [GATEWAY_KEY, *orgs]:
            path = directory / f"{name}.pem"
            if path.exists():
                keys[name] = load_signing_key(path)
        if GATEWAY_KEY not in keys:
            raise ConfigError(f"{directory}: no gateway.pem; run `oretrail keys generate`")
        return cls(keys)

    def save(self, directory: Path) -> list[Path]:
        written: list[Path] = []
        for name, key in self.signing.items():
            written.extend(save_signing_key(key, directory, name))
        return written

    def key(self, name: str) -> SigningKey:
        try:
            return self.signing[name]
        except KeyError:
            raise ConfigError(
                f"no signing key for {name!r}; run `oretrail keys generate`"
            ) from None

    def ring(self) -> KeyRing:
        ring = KeyRing()
        for key in self.signing.values():
            ring.add(key.trusted())
        return ring

    def caller_token(
        self,
        org: str,
        *,
        sub: str | None = None,
        roles: Iterable[str] = (),
        scope: str = "trace exposure",
        lifetime: int = CALLER_LIFETIME,
    ) -> str:
        """A development caller token, as the organisation's own identity provider would issue."""
        claims = {
            "sub": sub or f"analyst@{org}",
            "org": org,
            "aud": GATEWAY,
            "roles": list(roles),
            "scope": scope,
        }
        return mint(self.key(org), ACCESS_TYP, claims, lifetime=lifetime)


class FirstOf:
    """A KeySource asking pinned keys first, then issuers' JWKS endpoints."""

    def __init__(self, pinned: KeyRing, fetched: JwksSource | None) -> None:
        self._pinned = pinned
        self._fetched = fetched

    async def get(self, kid: str) -> TrustedKey | None:
        key = self._pinned.get(kid)
        if key is None and self._fetched is not None:
            key = await self._fetched.get(kid)
        return key
