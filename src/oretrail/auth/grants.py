"""Continuation grants: how a node that reveals an input link lets its supplier open it.

When node A reveals that its lot L consumed lot X of B, A's node key signs a
**continuation grant** (``typ: cgrant+jwt``) addressed to B's node (DESIGN.md,
Trust 4)::

    iss  urn:oretrail:node:A        aud  urn:oretrail:node:B
    sub  the caller                 req  hash of the caller's signed request
    exp  no later than the request
    links: [{"via": L (A's local id), "made": L's production date,
             "hop": X's hop from the root, "prev": hash of the grant that opened L
             at A (null when L is a root), "in": [[X (B's local id), kg consumed]]}]
    sealed: the kilograms A's policy withholds from the caller ("in" says null for
            them), as a JWE only B's node opens: {"L/X": kg} (auth.sealing)

Links to the same input from one consuming lot add up (two deliveries are two
consumptions).

One grant covers every input one answer opens at one supplier (up to
GRANT_MAX_LINKS links). B honours a link only if the chain of grants verifies back
to a root of the signed request within its depth (:class:`GrantVerifier`), and
only within what B's own shipment records and claim ledger allow (node.lots,
auth.claims). The gateway forwards grants; it cannot make or alter one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from oretrail.auth.keys import SigningKey
from oretrail.auth.requests import SignedRequest
from oretrail.auth.sealing import EncryptionKey, open_sealed, seal
from oretrail.auth.tokens import (
    NODE_PREFIX,
    KeySource,
    VerifyPolicy,
    mint,
    node_audience,
    org_of,
    token_hash,
    verify,
)
from oretrail.domain.model import LOT_PREFIX, is_local_id, parse_lot_id
from oretrail.errors import TokenRejected

__all__ = [
    "GRANT_MAX_BYTES",
    "GRANT_MAX_LINKS",
    "GRANT_REFERENCE",
    "GRANT_TYP",
    "Claim",
    "ContinuationGrant",
    "GrantIssuer",
    "GrantVerifier",
    "InputLink",
]

GRANT_TYP = "cgrant+jwt"
GRANT_MAX_LIFETIME = 3600
# Links one grant may name, and the bytes of lot ids it may carry; more are split
# over several grants, so that every grant stays under GRANT_MAX_BYTES once encoded.
GRANT_MAX_LINKS = 1000
GRANT_MAX_BYTES = 96 * 1024
GRANT_MAX_ID_BYTES = 40 * 1024
# A request may name a grant the node has already verified by "#" and its hash
# instead of carrying it again: the ancestors of a deep trace's lots would otherwise
# travel with every request, megabytes of them. A node that holds no valid copy
# refuses the reference like a missing grant.
GRANT_REFERENCE = "#"
MAX_VERIFIED_GRANTS = 100_000


@dataclass(frozen=True, slots=True)
class InputLink:
    """One input link a node reveals: its lot ``consumer`` took ``kilograms`` of ``lot``.

    ``hop`` is the consumer's distance from the root (0 for a root) and ``prev`` the
    hash of the grant that opened the consumer here (None for a root). ``sealed``: the
    caller may not see the quantity, so it travels sealed to the input's owner.
    """

    consumer: str
    made: date
    hop: int
    prev: str | None
    lot: str
    kilograms: float | None
    sealed: bool = False


@dataclass(frozen=True, slots=True)
class ContinuationGrant:
    """A grant a node issued, for its audience ``owner`` and the lots it opens."""

    owner: str
    lots: tuple[str, ...]
    grant: str


class GrantIssuer:
    """A node's side of issuing grants, with its node key, sealing withheld figures to
    the audience's encryption key as ``encryption_key`` (its pinned registry) names it."""

    def __init__(
        self,
        org: str,
        key: SigningKey,
        encryption_key: Callable[[str], Mapping[str, str] | None] = lambda org: None,
    ) -> None:
        self.org = org
        self._key = key
        self._encryption_key = encryption_key

    def issue(self, request: SignedRequest, links: Iterable[InputLink]) -> list[ContinuationGrant]:
        """Grants for ``links``: one per input owner (more when they do not fit one)."""
        by_owner: dict[str, list[tuple[InputLink, str, str]]] = defaultdict(list)
        for link in links:
            ref = parse_lot_id(link.lot)
            by_owner[ref.org].append((link, ref.local, parse_lot_id(link.consumer).local))
        lifetime = max(1, min(GRANT_MAX_LIFETIME, request.expires - int(time.time())))
        continuations = []
        for owner, refs in sorted(by_owner.items()):
            for chunk in _chunks(refs):
                entries: dict[tuple[str, int, str | None], dict[str, Any]] = {}
                # Per entry: kilograms by input (links to one input add up), and sealed.
                figures: dict[tuple[str, int, str | None], dict[str, float | None]] = {}
                sealed: dict[str, float] = {}
                for link, local, via in chunk:
                    key = (via, link.hop, link.prev)
                    if key not in entries:
                        entries[key] = {
                            "via": via,
                            "made": link.made.isoformat(),
                            "hop": link.hop + 1,
                            "prev": link.prev,
                        }
                        figures[key] = {}
                    known = figures[key]
                    before = known.get(local, 0.0)
                    total = (
                        None
                        if before is None or link.kilograms is None
                        else before + link.kilograms
                    )
                    known[local] = total
                    if link.sealed and total is not None:
                        sealed[f"{via}/{local}"] = total
                for key, entry in entries.items():
                    entry["in"] = [
                        [local, None if f"{entry['via']}/{local}" in sealed else kilograms]
                        for local, kilograms in figures[key].items()
                    ]
                claims: dict[str, Any] = {
                    "sub": request.sub,
                    "aud": node_audience(owner),
                    "req": request.hash,
                    "links": list(entries.values()),
                }
                recipient = self._encryption_key(owner) if sealed else None
                if recipient is not None:
                    claims["sealed"] = seal(sealed, recipient)
                grant = mint(self._key, GRANT_TYP, claims, lifetime=lifetime)
                lots = tuple(dict.fromkeys(link.lot for link, _, _ in chunk))
                continuations.append(ContinuationGrant(owner, lots, grant))
        return continuations


def _chunks(refs: list[tuple[InputLink, str, str]]) -> Iterator[list[tuple[InputLink, str, str]]]:
    chunk: list[tuple[InputLink, str, str]] = []
    size = 0
    for ref in refs:
        # Each link costs its local ids, a figure, and at worst an entry of its own.
        cost = len(ref[1]) + len(ref[2]) + 120
        if chunk and (len(chunk) == GRANT_MAX_LINKS or size + cost > GRANT_MAX_ID_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(ref)
        size += cost
    if chunk:
        yield chunk


@dataclass(frozen=True, slots=True)
class Claim:
    """One link of a verified chain: the granter says its lot ``consumer`` took our ``lot``."""

    lot: str
    granter: str
    consumer: str
    made: date
    hop: int
    kilograms: float | None
    grant: str


@dataclass(frozen=True, slots=True)
class _Entry:
    via: str
    made: date
    hop: int
    prev: str | None
    inputs: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True, slots=True)
class _Grant:
    hash: str
    granter: str
    audience: str
    sub: str
    req: str
    entries: tuple[_Entry, ...]
    sealed: str | None = None


class GrantVerifier:
    """A node's side of grants: which of our lots a request's chains open, and through whom."""

    def __init__(
        self,
        org: str,
        node_keys: KeySource,
        encryption_key: EncryptionKey | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.org = org
        self._keys = node_keys
        self._encryption_key = encryption_key
        self._clock = clock
        # Verified grants by hash: one trace presents the same chain many times.
        self._verified: dict[str, tuple[_Grant, int]] = {}

    async def claims(
        self,
        request: SignedRequest,
        roots: frozenset[str],
        presented: Sequence[object],
        wanted: frozenset[str] | None = None,
    ) -> tuple[dict[str, list[Claim]], str | None]:
        """Our lots that verified chains name, each with its claims, and a refusal if any.

        Only entries naming a ``wanted`` lot (all, if None) are checked. A refused grant
        or entry opens nothing but never hides a good one beside it.
        """
        by_hash: dict[str, object] = {}
        for grant in presented:
            if not isinstance(grant, str) or not grant.isascii():
                continue
            if grant.startswith(GRANT_REFERENCE) and len(grant) == len(GRANT_REFERENCE) + 43:
                # A grant this node verified before, named by its hash (see GRANT_REFERENCE).
                by_hash.setdefault(grant.removeprefix(GRANT_REFERENCE), None)
            else:
                by_hash.setdefault(token_hash(grant), grant)
        chain = _Chain(self, request, roots, by_hash)
        opened: dict[str, list[Claim]] = defaultdict(list)
        refusal: str | None = None
        mine = node_audience(self.org)
        prefix = f"{LOT_PREFIX}{self.org}:"
        for digest in by_hash:
            try:
                grant = await chain.grant(digest)
                if grant.audience != mine:
                    continue  # an ancestor of a grant addressed to us
                # Each entry is its own claim with its own chain: one that names no lot
                # asked for is not checked, and one that fails opens nothing of its own
                # but never sinks the others.
                verified = []
                for index, entry in enumerate(grant.entries):
                    if wanted is not None and not any(
                        prefix + local in wanted for local, _ in entry.inputs
                    ):
                        continue
                    try:
                        await chain.check_entry(grant, index)
                    except TokenRejected as exc:
                        refusal = refusal or str(exc)
                        continue
                    verified.append(entry)
                if not verified:
                    continue
                # Opened only once an entry's whole chain verified.
                sealed = self._open(grant)
                for entry in verified:
                    consumer = f"{LOT_PREFIX}{grant.granter}:{entry.via}"
                    for local, given in entry.inputs:
                        kilograms = sealed.get(f"{entry.via}/{local}", given)
                        opened[prefix + local].append(
                            Claim(
                                prefix + local,
                                grant.granter,
                                consumer,
                                entry.made,
                                entry.hop,
                                kilograms,
                                grant.hash,
                            )
                        )
            except TokenRejected as exc:
                refusal = refusal or str(exc)
        return dict(opened), refusal

    def _open(self, grant: _Grant) -> dict[str, float]:
        """The figures sealed to us in ``grant`` (none if it seals none)."""
        if grant.sealed is None:
            return {}
        if self._encryption_key is None:
            raise TokenRejected("the grant seals figures, but this node has no encryption key")
        return open_sealed(grant.sealed, self._encryption_key)

    async def verified(self, digest: str, token: object) -> _Grant:
        """The grant with this hash, verified: from its token, or (``token`` None, a
        reference) from the grants this node verified before and that are still valid."""
        cached = self._verified.get(digest)
        if cached is not None and self._clock() < cached[1] + 5:
            return cached[0]
        if token is None:
            raise TokenRejected(
                "the request names a grant by its hash that this node holds no valid copy of"
            )
        policy = VerifyPolicy(
            GRANT_TYP, None, GRANT_MAX_LIFETIME, single_use=False, max_bytes=GRANT_MAX_BYTES
        )
        try:
            claims = await verify(token, policy, self._keys, clock=self._clock)
        except TokenRejected as exc:
            raise TokenRejected(f"continuation grant refused: {exc}") from None
        grant = _parse(digest, claims)
        if len(self._verified) > MAX_VERIFIED_GRANTS:
            now = self._clock()
            self._verified = {d: v for d, v in self._verified.items() if v[1] + 5 > now}
            if len(self._verified) > MAX_VERIFIED_GRANTS:
                self._verified.clear()
        self._verified[digest] = (grant, claims["exp"])
        return grant


class _Chain:
    """Verification of one request's presented grants, each checked once."""

    def __init__(
        self,
        verifier: GrantVerifier,
        request: SignedRequest,
        roots: frozenset[str],
        by_hash: dict[str, object],
    ) -> None:
        self._verifier = verifier
        self._request = request
        self._roots = roots
        self._by_hash = by_hash
        self._entries: dict[tuple[str, int], bool] = {}

    async def grant(self, digest: str) -> _Grant:
        if digest not in self._by_hash:
            raise TokenRejected("a grant's chain names a grant the request does not carry")
        grant = await self._verifier.verified(digest, self._by_hash[digest])
        if grant.req != self._request.hash:
            raise TokenRejected("grant belongs to another signed request")
        if grant.sub != self._request.sub:
            raise TokenRejected("grant was issued for another caller")
        return grant

    async def check_entry(self, grant: _Grant, index: int, depth: int = 0) -> None:
        """Refuse unless the entry's consuming lot was opened by a root or a verified chain."""
        key = (grant.hash, index)
        if self._entries.get(key):
            return
        entry = grant.entries[index]
        if entry.hop > self._request.context.depth:
            raise TokenRejected(
                f"grant reaches hop {entry.hop}, beyond the request's depth "
                f"{self._request.context.depth}"
            )
        consumer = f"{LOT_PREFIX}{grant.granter}:{entry.via}"
        if entry.prev is None:
            if entry.hop != 1 or consumer not in self._roots:
                raise TokenRejected("grant's chain does not start at a root of the signed request")
        else:
            if depth > self._request.context.depth:
                raise TokenRejected("grant chain is longer than the request's depth")
            parent = await self.grant(entry.prev)
            if parent.audience != node_audience(grant.granter):
                raise TokenRejected("grant's chain: the previous grant was addressed elsewhere")
            for parent_index, parent_entry in enumerate(parent.entries):
                if parent_entry.hop == entry.hop - 1 and any(
                    local == entry.via for local, _ in parent_entry.inputs
                ):
                    await self.check_entry(parent, parent_index, depth + 1)
                    break
            else:
                raise TokenRejected(
                    "grant's chain: the previous grant does not open the consuming lot"
                )
        self._entries[key] = True


def _parse(digest: str, claims: dict[str, Any]) -> _Grant:
    granter = org_of(claims["iss"], NODE_PREFIX)
    audience = claims["aud"]
    if granter is None:
        raise TokenRejected("continuation grants are signed by members' node keys only")
    req = claims.get("req")
    links = claims.get("links")
    if not isinstance(req, str) or not isinstance(links, list) or not links:
        raise TokenRejected("continuation grant lacks 'req' or 'links'")
    sealed = claims.get("sealed")
    if sealed is not None and not isinstance(sealed, str):
        raise TokenRejected("continuation grant's 'sealed' is not a compact JWE")
    entries = tuple(_entry(e) for e in links)
    return _Grant(digest, granter, audience, claims["sub"], req, entries, sealed)


def _entry(raw: object) -> _Entry:
    if not isinstance(raw, dict):
        raise TokenRejected("a grant's link is not an object")
    via, made, hop, prev, inputs = (raw.get(k) for k in ("via", "made", "hop", "prev", "in"))
    if not isinstance(via, str) or not is_local_id(via):
        raise TokenRejected("grant names an invalid consuming lot ('via')")
    if type(hop) is not int or hop < 1:
        raise TokenRejected("grant's hop is not a positive whole number")
    if prev is not None and (not isinstance(prev, str) or len(prev) != 43):
        raise TokenRejected("grant's 'prev' is not a grant hash")
    try:
        produced = date.fromisoformat(made) if isinstance(made, str) else None
    except ValueError:
        produced = None
    if produced is None:
        raise TokenRejected("grant's 'made' is not a date (YYYY-MM-DD)")
    if not isinstance(inputs, list) or not inputs:
        raise TokenRejected("grant's link names no inputs")
    parsed = []
    for item in inputs:
        if not isinstance(item, list) or len(item) != 2:
            raise TokenRejected("grant's input is not [lot, kilograms]")
        local, kilograms = item
        if not isinstance(local, str) or not is_local_id(local):
            raise TokenRejected("grant names an invalid input lot")
        if kilograms is not None and (
            type(kilograms) not in (int, float) or not 0 < kilograms < 1e15
        ):
            raise TokenRejected("grant's quantity is not a positive number of kilograms")
        parsed.append((local, None if kilograms is None else float(kilograms)))
    return _Entry(via, produced, hop, prev, tuple(parsed))
