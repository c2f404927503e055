"""A party's own pinned copy of the registry: members' public keys, roles and endpoints.

Every node (and the gateway) keeps its own copy, written by its operator's hand
(``oretrail keys export`` gives the starting file) and changed afterwards only by a
**member statement** (``typ: member+jwt``) signed with that member's current
organisation key: a new organisation or node key, an endpoint, roles. What the
gateway's registry says about a member is never read here, so whoever edits that
registry cannot swap a member's key, move its endpoint or give a colluder a role
(DESIGN.md, Trust 1).

The file is JSON::

    {"gateway": [<JWK>, ...],
     "members": {"<org>": {"roles": [...], "endpoint": "...", "org_keys": [<JWK>...],
                           "node_keys": [<JWK>...], "enc_keys": [<X25519 JWK>...],
                           "statement_iat": 0}}}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from oretrail.auth.keys import KeyRing, TrustedKey, trusted_key_from_jwk
from oretrail.auth.sealing import check_public_encryption_jwk
from oretrail.auth.tokens import (
    FEDERATION,
    GATEWAY,
    KeySource,
    StaticKeys,
    VerifyPolicy,
    node_issuer,
    org_issuer,
    org_of,
    verify,
)
from oretrail.errors import ConfigError, TokenRejected

__all__ = [
    "STATEMENT_TYP",
    "MemberRecord",
    "PinnedRegistry",
    "load_pinned",
    "pinned_from_json",
]

STATEMENT_TYP = "member+jwt"
STATEMENT_MAX_LIFETIME = 24 * 3600
# What a statement may change; anything else in it is refused. Not roles: a member
# must not give itself a role a policy rule is narrowed to; roles change only by
# the copy's operator.
STATEMENT_FIELDS = frozenset({"endpoint", "org_keys", "node_keys", "enc_keys"})


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """What a party believes about one member: its keys, roles and endpoint."""

    org: str
    roles: frozenset[str]
    endpoint: str
    org_keys: tuple[TrustedKey, ...]
    node_keys: tuple[TrustedKey, ...]
    # iat of the last statement applied: an older statement never undoes a newer one.
    statement_iat: int = 0
    # The node's public X25519 keys that figures are sealed to (auth.sealing).
    enc_keys: tuple[dict[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "roles": sorted(self.roles),
            "endpoint": self.endpoint,
            "org_keys": [k.jwk() for k in self.org_keys],
            "node_keys": [k.jwk() for k in self.node_keys],
            "enc_keys": list(self.enc_keys),
            "statement_iat": self.statement_iat,
        }


class PinnedRegistry:
    """The members and gateway keys one party trusts, with key sources per key kind.

    Key kinds never mix: an organisation key verifies only what is issued as
    ``urn:oretrail:org:<org>``, a node key only ``urn:oretrail:node:<org>``, and the
    gateway's only ``urn:oretrail:gateway`` (the verifier checks ``iss`` against the
    key's issuer).
    """

    def __init__(
        self,
        members: Mapping[str, MemberRecord],
        gateway_keys: Iterable[TrustedKey],
        *,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._members = dict(members)
        self._gateway = tuple(gateway_keys)
        self._path = path
        self._clock = clock
        self._rebuild()

    def _rebuild(self) -> None:
        self._org_ring, self._node_ring, self._gateway_ring = _rings(self._members, self._gateway)

    @property
    def members(self) -> Mapping[str, MemberRecord]:
        return self._members

    def member(self, org: str) -> MemberRecord | None:
        return self._members.get(org)

    def encryption_key(self, org: str) -> dict[str, str] | None:
        """The public key figures for ``org``'s node are sealed to, if it has one."""
        record = self._members.get(org)
        return record.enc_keys[0] if record is not None and record.enc_keys else None

    def roles(self, org: str) -> frozenset[str]:
        """The roles this party's copy gives ``org``; none for an unknown organisation."""
        record = self._members.get(org)
        return frozenset() if record is None else record.roles

    @property
    def org_keys(self) -> KeySource:
        return StaticKeys(self._org_ring)

    @property
    def node_keys(self) -> KeySource:
        return StaticKeys(self._node_ring)

    @property
    def gateway_keys(self) -> KeySource:
        return StaticKeys(self._gateway_ring)

    async def apply_statement(self, statement: object) -> MemberRecord:
        """Verify a member statement with the member's current key and apply it.

        Raises TokenRejected (bad signature, unknown member, stale statement) or
        ConfigError (a field that cannot be applied). The new record is written to
        this party's file before it takes effect, so a restart keeps it.
        """
        policy = VerifyPolicy(STATEMENT_TYP, FEDERATION, STATEMENT_MAX_LIFETIME, single_use=False)
        claims = await verify(statement, policy, self.org_keys, clock=self._clock)
        org = org_of(claims["iss"])
        if org is None or claims["sub"] != claims["iss"]:
            raise TokenRejected("a member statement is about its own signer only")
        current = self._members.get(org)
        if current is None:
            raise TokenRejected(f"organisation {org!r} is not a member of this copy")
        if claims["iat"] <= current.statement_iat:
            raise TokenRejected("the statement is not newer than the last one applied")
        change = claims.get("member")
        if not isinstance(change, dict) or not change or set(change) - STATEMENT_FIELDS:
            raise TokenRejected(
                f"a statement's 'member' changes some of {sorted(STATEMENT_FIELDS)}, nothing else"
            )
        updated = _changed(current, change, claims["iat"])
        members = {**self._members, org: updated}
        try:
            # Every key id names one key of one party: a statement may not claim another's.
            rings = _rings(members, self._gateway)
        except ConfigError as exc:
            raise TokenRejected(f"the statement cannot be applied: {exc}") from None
        if self._path is not None:
            _write(self._path, members, self._gateway)
        self._members = members
        self._org_ring, self._node_ring, self._gateway_ring = rings
        return updated

    def to_json(self) -> dict[str, Any]:
        return {
            "gateway": [k.jwk() for k in self._gateway],
            "members": {org: r.to_json() for org, r in sorted(self._members.items())},
        }


def _rings(
    members: Mapping[str, MemberRecord], gateway: Iterable[TrustedKey]
) -> tuple[KeyRing, KeyRing, KeyRing]:
    """The organisation, node and gateway key rings; ConfigError if two keys share an id."""
    org_ring, node_ring, gateway_ring = KeyRing(), KeyRing(), KeyRing()
    seen: dict[str, TrustedKey] = {}  # key ids are unique across every kind and party

    def add(ring: KeyRing, key: TrustedKey) -> None:
        known = seen.setdefault(key.kid, key)
        if known != key and (known.issuer != key.issuer or known.jwk() != key.jwk()):
            raise ConfigError(f"key id {key.kid} names two keys ({known.issuer}, {key.issuer})")
        ring.add(key)

    for record in members.values():
        for key in record.org_keys:
            add(org_ring, key)
        for key in record.node_keys:
            add(node_ring, key)
    for key in gateway:
        add(gateway_ring, key)
    return org_ring, node_ring, gateway_ring


def _changed(current: MemberRecord, change: Mapping[str, Any], iat: int) -> MemberRecord:
    try:
        endpoint = change.get("endpoint", current.endpoint)
        if not isinstance(endpoint, str):
            raise ConfigError("endpoint must be a string")
        org_keys = (
            _keys(change["org_keys"], org_issuer(current.org))
            if "org_keys" in change
            else current.org_keys
        )
        node_keys = (
            _keys(change["node_keys"], node_issuer(current.org))
            if "node_keys" in change
            else current.node_keys
        )
        enc_keys = _enc_keys(change["enc_keys"]) if "enc_keys" in change else current.enc_keys
    except ConfigError as exc:
        raise TokenRejected(f"the statement cannot be applied: {exc}") from None
    if not org_keys:
        raise TokenRejected("a statement may not leave a member without an organisation key")
    return replace(
        current,
        endpoint=endpoint,
        org_keys=org_keys,
        node_keys=node_keys,
        enc_keys=enc_keys,
        statement_iat=iat,
    )


def _keys(raw: object, issuer: str) -> tuple[TrustedKey, ...]:
    if not isinstance(raw, list) or not all(isinstance(j, dict) for j in raw):
        raise ConfigError(f"keys for {issuer} must be a list of JWKs")
    return tuple(trusted_key_from_jwk(issuer, jwk) for jwk in raw)


def _enc_keys(raw: object) -> tuple[dict[str, str], ...]:
    if not isinstance(raw, list) or not all(isinstance(j, dict) for j in raw):
        raise ConfigError("encryption keys must be a list of JWKs")
    return tuple(check_public_encryption_jwk(jwk) for jwk in raw)


def load_pinned(path: Path, *, clock: Callable[[], float] = time.time) -> PinnedRegistry:
    """Read a party's pinned registry; every problem names the file and the member."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no pinned registry; write one with `oretrail keys export`"
        ) from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot read the pinned registry: {exc}") from None
    return pinned_from_json(raw, str(path), path=path, clock=clock)


def pinned_from_json(
    raw: object,
    where: str = "pinned registry",
    *,
    path: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> PinnedRegistry:
    """A pinned registry from its JSON document (:meth:`PinnedRegistry.to_json`'s shape).

    Raises ConfigError naming ``where`` and the member at fault.
    """
    if not isinstance(raw, dict) or set(raw) - {"gateway", "members"}:
        raise ConfigError(f"{where}: expected an object with 'gateway' and 'members' only")
    members_raw = raw.get("members", {})
    if not isinstance(members_raw, dict):
        raise ConfigError(f"{where}: 'members' must be an object")
    members = {}
    for org, record in members_raw.items():
        try:
            members[org] = _record(org, record)
        except ConfigError as exc:
            raise ConfigError(f"{where}: member {org!r}: {exc}") from None
    try:
        gateway = _keys(raw.get("gateway", []), GATEWAY)
    except ConfigError as exc:
        raise ConfigError(f"{where}: gateway keys: {exc}") from None
    return PinnedRegistry(members, gateway, path=path, clock=clock)


def _record(org: str, raw: object) -> MemberRecord:
    known = {"roles", "endpoint", "org_keys", "node_keys", "enc_keys", "statement_iat"}
    if not isinstance(raw, dict) or set(raw) - known:
        raise ConfigError(f"expected an object with keys among {sorted(known)}")
    roles = raw.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ConfigError("roles must be a list of strings")
    iat = raw.get("statement_iat", 0)
    if not isinstance(iat, int):
        raise ConfigError("statement_iat must be an integer")
    return MemberRecord(
        org=org,
        roles=frozenset(roles),
        endpoint=str(raw.get("endpoint", "")),
        org_keys=_keys(raw.get("org_keys", []), org_issuer(org)),
        node_keys=_keys(raw.get("node_keys", []), node_issuer(org)),
        enc_keys=_enc_keys(raw.get("enc_keys", [])),
        statement_iat=iat,
    )


def _write(
    path: Path, members: Mapping[str, MemberRecord], gateway: tuple[TrustedKey, ...]
) -> None:
    """Replace the file atomically: a crash leaves the old copy or the new, never half."""
    body = {
        "gateway": [k.jwk() for k in gateway],
        "members": {org: r.to_json() for org, r in sorted(members.items())},
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
