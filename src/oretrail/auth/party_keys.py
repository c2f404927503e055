"""Each party's own keys, and the public keys others pin.

A member holds an **organisation key** (certifies its users, signs statements,
root lists and approvals) and a **node key** (signs grants); the gateway holds the
**gateway key**; users hold their own keys (auth.callers). On disk, under a key
directory, each party has a folder of its own, and a process opens only its own::

    <dir>/gateway/gateway.pem            the gateway key (private, mode 600)
    <dir>/<org>/org.pem, node.pem        a member's signing keys (private, mode 600)
    <dir>/<org>/node-enc.pem             its node's X25519 key for sealed figures
    <dir>/<party>/*.jwks.json            the matching public keys
    <dir>/<org>/users/<sub>.pem, .cert   users' keys and certificates

``oretrail keys export`` turns the public files into a pinned registry
(auth.pinned) for a node or gateway operator to install by hand.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from oretrail.auth.callers import UserIdentity
from oretrail.auth.keys import (
    SigningKey,
    TrustedKey,
    generate_signing_key,
    load_signing_key,
    save_signing_key,
    trusted_key_from_jwk,
)
from oretrail.auth.pinned import MemberRecord, PinnedRegistry
from oretrail.auth.sealing import EncryptionKey, check_public_encryption_jwk
from oretrail.auth.tokens import GATEWAY, node_issuer, org_issuer
from oretrail.errors import ConfigError

__all__ = [
    "GATEWAY_PARTY",
    "FederationKeys",
    "MemberKeys",
    "generate_gateway_key",
    "generate_member_keys",
    "load_encryption_key",
    "load_gateway_key",
    "load_node_key",
    "load_org_key",
    "public_registry",
    "save_member_keys",
]

GATEWAY_PARTY = "gateway"


@dataclass(frozen=True, slots=True)
class MemberKeys:
    org: str
    org_key: SigningKey
    node_key: SigningKey
    # The node's X25519 key that other nodes seal withheld figures to.
    enc_key: EncryptionKey


def generate_member_keys(org: str) -> MemberKeys:
    tag = secrets.token_hex(4)
    return MemberKeys(
        org,
        generate_signing_key(org_issuer(org), f"{org}-org-{tag}"),
        generate_signing_key(node_issuer(org), f"{org}-node-{tag}"),
        EncryptionKey.generate(org),
    )


def save_member_keys(keys: MemberKeys, directory: Path) -> list[Path]:
    """Write a member's keys into its own folder ``directory/<org>``."""
    folder = directory / keys.org
    written = [
        *save_signing_key(keys.org_key, folder, "org"),
        *save_signing_key(keys.node_key, folder, "node"),
    ]
    written.append(keys.enc_key.save(folder, "node-enc"))
    return written


def load_encryption_key(directory: Path, org: str) -> EncryptionKey:
    path = _private(directory, org, "node-enc")
    if not path.exists():
        raise ConfigError(f"{path}: no such key; run `oretrail keys generate`")
    return EncryptionKey.load(path)


def generate_gateway_key() -> SigningKey:
    return generate_signing_key(GATEWAY, f"gateway-{secrets.token_hex(4)}")


def _private(directory: Path, party: str, name: str) -> Path:
    return directory / party / f"{name}.pem"


def load_org_key(directory: Path, org: str) -> SigningKey:
    return _load(_private(directory, org, "org"), org_issuer(org))


def load_node_key(directory: Path, org: str) -> SigningKey:
    return _load(_private(directory, org, "node"), node_issuer(org))


def load_gateway_key(directory: Path) -> SigningKey:
    return _load(_private(directory, GATEWAY_PARTY, "gateway"), GATEWAY)


def _load(path: Path, issuer: str) -> SigningKey:
    if not path.exists():
        raise ConfigError(f"{path}: no such key; run `oretrail keys generate`")
    key = load_signing_key(path)
    if key.issuer != issuer:
        raise ConfigError(f"{path}: holds a key for {key.issuer}, not {issuer}")
    return key


@dataclass(frozen=True, slots=True)
class FederationKeys:
    """Every party's keys at once: only the demo and tests hold these together.

    Each service is still handed only its own key (``member``, ``gateway``) and the
    public keys (``pinned``).
    """

    gateway: SigningKey
    members: Mapping[str, MemberKeys]

    @classmethod
    def generate(cls, orgs: Iterable[str]) -> FederationKeys:
        return cls(generate_gateway_key(), {org: generate_member_keys(org) for org in orgs})

    def member(self, org: str) -> MemberKeys:
        try:
            return self.members[org]
        except KeyError:
            raise ConfigError(f"no keys for member {org!r}") from None

    def user(self, org: str, sub: str | None = None, *, lifetime: int = 8 * 3600) -> UserIdentity:
        """A user of ``org`` with a fresh key its organisation certified."""
        return UserIdentity.generate(
            self.member(org).org_key, sub or f"analyst@{org}", lifetime=lifetime
        )

    def pinned(
        self, roles: Mapping[str, Iterable[str]], endpoints: Mapping[str, str] | None = None
    ) -> PinnedRegistry:
        """A fresh registry copy pinning every member's public keys (no file behind it)."""
        endpoints = endpoints or {}
        members = {
            org: MemberRecord(
                org,
                frozenset(str(r) for r in roles.get(org, ())),
                endpoints.get(org, ""),
                (keys.org_key.trusted(),),
                (keys.node_key.trusted(),),
                enc_keys=(keys.enc_key.public_jwk(),),
            )
            for org, keys in self.members.items()
        }
        return PinnedRegistry(members, [self.gateway.trusted()])

    def save(self, directory: Path) -> list[Path]:
        """Write each party's keys into its own folder."""
        written = list(save_signing_key(self.gateway, directory / GATEWAY_PARTY, "gateway"))
        for keys in self.members.values():
            written.extend(save_member_keys(keys, directory))
        return written


def public_registry(
    directory: Path, roles: Mapping[str, Iterable[str]], endpoints: Mapping[str, str]
) -> dict[str, object]:
    """A pinned-registry document from the public key files under ``directory``.

    Reads only ``*.jwks.json`` files: never a private key.
    """

    def public(path: Path, issuer: str) -> list[TrustedKey]:
        if not path.exists():
            return []
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return [trusted_key_from_jwk(issuer, jwk) for jwk in document["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a JWKS: {exc}") from None

    members = {}
    for org in roles:
        org_keys = public(directory / org / "org.jwks.json", org_issuer(org))
        if not org_keys:
            continue
        members[org] = MemberRecord(
            org,
            frozenset(str(r) for r in roles[org]),
            endpoints.get(org, ""),
            tuple(org_keys),
            tuple(public(directory / org / "node.jwks.json", node_issuer(org))),
            enc_keys=tuple(_public_enc(directory / org / "node-enc.jwks.json")),
        ).to_json()
    gateway = public(directory / GATEWAY_PARTY / "gateway.jwks.json", GATEWAY)
    return {"gateway": [k.jwk() for k in gateway], "members": members}


def _public_enc(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [check_public_encryption_jwk(jwk) for jwk in document["keys"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a JWKS of encryption keys: {exc}") from None
