"""Receipts and signed answers: what a node's answer carries so anyone can check it.

The wire contract (DESIGN.md, Trust 6 and 7; notes/evidence-contract.md). Every
answer a node gives, or refusal, is one leaf of its access log; the response
carries, in ``extensions.evidence`` (GraphQL) or a top-level ``evidence`` member
(HTTP refusals)::

    {"answer": "<compact JWS>",
     "receipt": {"index": 17, "leaf": "<hex leaf hash>",
                 "checkpoint": "<signed note>", "proof": ["<base64 hash>", ...]}}

The answer is an EdDSA JWS (``typ`` answer+jwt) by the node key over
``{iss, iat, jti, req, call, digest, index, leaf, size, root}``: the caller's
request hash (hex SHA-256 of the signed request, null if it never verified), the
call's hash (:func:`call_hash` of the GraphQL variables it was asked with: the ids
and the grants presented; null for a refusal before they were read), the response
digest (:func:`response_digest`) and the receipt's leaf and checkpoint.
The node, the gateway and ``oretrail verify`` all use these functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from oretrail.auth.checkpoint import Checkpoint, verify_checkpoint
from oretrail.auth.keys import SigningKey
from oretrail.auth.merkle import verify_inclusion
from oretrail.auth.tokens import KEY_HEADERS
from oretrail.errors import OretrailError

__all__ = [
    "ANSWER_TYP",
    "AnswerClaims",
    "EvidenceRejected",
    "Receipt",
    "call_hash",
    "canonical_json",
    "evidence_matches",
    "request_hash",
    "response_digest",
    "sign_answer",
    "verify_answer",
    "verify_receipt",
]

ANSWER_TYP = "answer+jwt"
_HEX64 = frozenset("0123456789abcdef")


class EvidenceRejected(OretrailError):
    """A receipt or signed answer that does not verify; the message says what failed."""

    code = "EVIDENCE_REJECTED"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON; strings that are not Unicode text are escaped first.

    Raises EvidenceRejected for a value RFC 8785 cannot write (a non-finite number, an
    integer beyond 2**53 that is not an exact double) or nested too deep to walk.

    A lone surrogate (``"\\ud800"`` from a JSON escape) cannot be encoded as UTF-8;
    it is written as the six characters ``\\ud800`` so the value still hashes.

    The rfc8785 library is pure Python (about 120 ms for a 1,000-lot answer); most
    values we hash are written identically by the standard library's C encoder with
    sorted keys, so those take that path (about 25 ms), and a test holds the two
    equal on generated values. It is taken only when every key is ASCII (so code
    point and UTF-16 order agree) and every number is an integer within 2**53 or a
    float that both Python and ECMAScript write in plain decimal notation.
    """
    try:
        try:
            plain = _plain(value)
        except _NotPlain:
            plain = None
        try:
            if plain is not None:
                text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                return text.encode("utf-8")
            return rfc8785.dumps(value)
        except (rfc8785.CanonicalizationError, UnicodeEncodeError):
            return rfc8785.dumps(_escaped(value))
    except (rfc8785.CanonicalizationError, RecursionError) as exc:
        # A hostile bundle can hold numbers RFC 8785 cannot write (infinity, integers past
        # 2**53) or nesting deeper than the stack: no digest, so nothing it claims verifies.
        raise EvidenceRejected(
            f"the value cannot be written as RFC 8785 JSON: {type(exc).__name__}"
        ) from None


class _NotPlain(Exception):
    """A value the standard encoder would not write as RFC 8785 does."""


_SAFE_INTEGER = 2**53


def _plain(value: Any) -> Any:
    """``value`` with integral floats as ints, or _NotPlain.

    Hot (every node answer is hashed): exact type checks first, and strings and
    nulls, most of any answer, are kept without a call.
    """
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _NotPlain
            out[key] = item if item is None or type(item) is str else _plain(item)
        return out
    if kind is list or kind is tuple:
        return [item if item is None or type(item) is str else _plain(item) for item in value]
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INTEGER < value < _SAFE_INTEGER:
            return value
        raise _NotPlain
    if kind is float:
        if value.is_integer():
            if abs(value) < _SAFE_INTEGER:
                return int(value)
            raise _NotPlain  # Python writes 2.0**53 as 9007199254740992.0
        # Python's repr is plain decimal from 1e-4 up to 1e16 (ECMAScript's from 1e-6 to
        # 1e21); both give the shortest digits that round-trip.
        if 1e-4 <= abs(value) < 1e16:
            return value
    # Subclasses (an Enum of str, a Mapping that is not a dict...): the library decides.
    raise _NotPlain


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value


def response_digest(body: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the RFC 8785 JSON of a response's ``data`` and ``errors``.

    ``errors`` counts only when present; for an HTTP refusal, ``body`` is the
    refusal's JSON body, whose ``evidence`` member (and GraphQL ``extensions``)
    never count.
    """
    covered = {k: v for k, v in body.items() if k not in ("evidence", "extensions")}
    return hashlib.sha256(canonical_json(covered)).hexdigest()


def call_hash(variables: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the RFC 8785 JSON of a call's GraphQL variables (ids, grants...).

    The node signs it, so the ids asked and the grants presented are the node's word,
    not the gateway's: a lot refused because its grant was left out is told apart.
    """
    return hashlib.sha256(canonical_json(dict(variables))).hexdigest()


def request_hash(signed_request_hash: str | None) -> str | None:
    """Hex SHA-256 of a caller's signed request, from ``SignedRequest.hash`` (base64url)."""
    if signed_request_hash is None:
        return None
    raw = base64.urlsafe_b64decode(signed_request_hash + "=" * (-len(signed_request_hash) % 4))
    return raw.hex()


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where an answer's leaf sits in the node's log, and the proof of it."""

    index: int
    leaf: bytes
    checkpoint: str
    size: int
    root: bytes
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "leaf": self.leaf.hex(),
            "checkpoint": self.checkpoint,
            "proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
        }


@dataclass(frozen=True, slots=True)
class AnswerClaims:
    """The verified payload of a node's signed answer."""

    iss: str
    iat: int
    jti: str
    req: str | None
    digest: str
    index: int
    leaf: str
    size: int
    root: str
    # call_hash of the variables the node was asked with; None: not read (a refusal).
    call: str | None = None


def sign_answer(
    key: SigningKey, req: str | None, digest: str, receipt: Receipt, call: str | None = None
) -> str:
    """The node's signed answer over the request hash, the call's hash, the response
    digest and the receipt."""
    payload = {
        "iss": key.issuer,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
        "req": req,
        "call": call,
        "digest": digest,
        "index": receipt.index,
        "leaf": receipt.leaf.hex(),
        "size": receipt.size,
        "root": base64.b64encode(receipt.root).decode("ascii"),
    }
    return jwt.encode(
        payload, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": ANSWER_TYP}
    )


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX64


def verify_answer(token: object, public: Ed25519PublicKey) -> AnswerClaims:
    """The claims of a node's signed answer, if ``public`` signed it; else EvidenceRejected.

    Only EdDSA, only ``typ`` answer+jwt, never a key named by the token itself.
    """
    if not isinstance(token, str) or not token.isascii():
        raise EvidenceRejected("the signed answer is not a compact JWS")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token,
            public,
            algorithms=["EdDSA"],
            options={"verify_signature": True, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise EvidenceRejected("the signed answer's signature does not verify") from None
    except (jwt.PyJWTError, ValueError, RecursionError) as exc:
        reason = type(exc).__name__
        raise EvidenceRejected(f"the signed answer cannot be decoded: {reason}") from None
    if header.get("typ") != ANSWER_TYP or any(h in header for h in (*KEY_HEADERS, "crit")):
        raise EvidenceRejected("the signed answer's header is not an answer+jwt header")
    try:
        answer = AnswerClaims(
            **{name: claims[name] for name in AnswerClaims.__slots__ if name != "call"},
            call=claims.get("call"),
        )
    except KeyError as exc:
        raise EvidenceRejected(f"the signed answer lacks the claim {exc.args[0]!r}") from None
    if (
        not isinstance(answer.index, int)
        or not isinstance(answer.size, int)
        or not 0 <= answer.index < answer.size
        or not _is_hex64(answer.digest)
        or not _is_hex64(answer.leaf)
        or not (answer.req is None or _is_hex64(answer.req))
        or not (answer.call is None or _is_hex64(answer.call))
    ):
        raise EvidenceRejected("the signed answer's claims are malformed")
    return answer


def _receipt_from_json(receipt: object) -> tuple[int, bytes, str, tuple[bytes, ...]]:
    if not isinstance(receipt, Mapping):
        raise EvidenceRejected("a receipt is a JSON object")
    index, leaf, note, proof = (receipt.get(k) for k in ("index", "leaf", "checkpoint", "proof"))
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise EvidenceRejected("the receipt's index is not a leaf index")
    if not _is_hex64(leaf) or not isinstance(note, str) or not isinstance(proof, list):
        raise EvidenceRejected("the receipt's leaf, checkpoint or proof is malformed")
    try:
        hashes = tuple(base64.b64decode(h, validate=True) for h in proof)
    except (binascii.Error, ValueError, TypeError):
        raise EvidenceRejected("the receipt's proof is not base64 hashes") from None
    assert isinstance(leaf, str)
    return index, bytes.fromhex(leaf), note, hashes


def verify_receipt(receipt: object, public: Ed25519PublicKey, origin: str) -> Receipt:
    """The receipt, if its checkpoint is ``origin``'s, signed by ``public``, and its
    inclusion proof puts its leaf at its index in that checkpoint's tree."""
    index, leaf, note, proof = _receipt_from_json(receipt)
    try:
        checkpoint: Checkpoint = verify_checkpoint(note, public, origin)
        verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
    except OretrailError as exc:  # CheckpointRejected, ProofError
        raise EvidenceRejected(f"receipt for leaf {index}: {exc}") from None
    return Receipt(index, leaf, note, checkpoint.size, checkpoint.root, proof)


def evidence_matches(answer: AnswerClaims, receipt: Receipt, body: Mapping[str, Any]) -> None:
    """Check that a signed answer names this receipt and this response body."""
    if answer.index != receipt.index or answer.leaf != receipt.leaf.hex():
        raise EvidenceRejected("the signed answer names another leaf than its receipt")
    if answer.size != receipt.size or answer.root != base64.b64encode(receipt.root).decode():
        raise EvidenceRejected("the signed answer names another checkpoint than its receipt")
    if answer.digest != response_digest(body):
        raise EvidenceRejected("the response is not the one the node signed (digest differs)")
