"""An approved transparency query's declaration, as nodes pin and check it (DESIGN.md, Trust 5).

A declaration is what the query's approvers sign (gateway.approved): its id,
purpose, GraphQL document, minimum group size ``k``, approvers, bounded
parameters, the field groups it may be given (``fields``) and its reporting
period (``period``: quarter, month or year). Its digest is the SHA-256 of its
RFC 8785 canonical JSON, written ``sha256:<base64url>``; each node's policy lists
the digests of the declarations it answers, by id.

The gateway forwards the declaration with each transparency call, in the
``Oretrail-Approved-Query`` header as base64url canonical JSON. A node believes
nothing in it until its digest equals the one its own policy lists for the signed
request's query id; then it gives no field group the declaration does not list,
and answers only as-ofs that end a closed period of the declared kind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from oretrail.auth.policy import FIELD_GROUPS
from oretrail.errors import TokenRejected

__all__ = [
    "HEADER_APPROVED_QUERY",
    "PERIOD_KINDS",
    "Declaration",
    "declaration_digest",
    "decode_declaration",
    "encode_declaration",
]

HEADER_APPROVED_QUERY = "oretrail-approved-query"
# Mirrors oretrail.domain.transparency.PERIOD_KINDS (auth does not import the
# transparency aggregates); a unit test keeps the two equal.
PERIOD_KINDS = ("quarter", "month", "year")
MAX_DECLARATION_BYTES = 32 * 1024


@dataclass(frozen=True, slots=True)
class Declaration:
    """The parts of a verified declaration a node acts on."""

    id: str
    digest: str
    fields: frozenset[str]
    period: str
    k: int


def declaration_digest(body: Mapping[str, Any]) -> str:
    """``sha256:<base64url>`` of the RFC 8785 canonical JSON of a declaration."""
    digest = hashlib.sha256(rfc8785.dumps(dict(body))).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def encode_declaration(body: Mapping[str, Any]) -> str:
    """The header value the gateway forwards: base64url canonical JSON, no padding."""
    return base64.urlsafe_b64encode(rfc8785.dumps(dict(body))).rstrip(b"=").decode("ascii")


def decode_declaration(header: str, pinned: Mapping[str, str], query_id: str) -> Declaration:
    """The declaration in ``header``, if its digest is the one ``pinned`` lists for
    ``query_id`` (the id the caller signed). Raises TokenRejected otherwise."""
    if len(header) > MAX_DECLARATION_BYTES * 4 // 3 + 4:
        raise TokenRejected("the approved query's declaration is too large")
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise TokenRejected("the approved query's declaration is not base64url JSON") from None
    if not isinstance(body, dict):
        raise TokenRejected("the approved query's declaration is not an object")
    expected = pinned.get(query_id)
    if expected is None:
        raise TokenRejected(f"this node's policy lists no approved query {query_id[:80]!r}")
    try:
        digest = declaration_digest(body)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        raise TokenRejected("the approved query's declaration cannot be canonicalised") from None
    if body.get("id") != query_id or digest != expected:
        raise TokenRejected(
            f"the declaration of {query_id[:80]!r} is not the version this node's policy lists"
        )
    fields, period, k = body.get("fields"), body.get("period"), body.get("k")
    if (
        not isinstance(fields, list)
        or not all(isinstance(f, str) and f in FIELD_GROUPS for f in fields)
        or period not in PERIOD_KINDS
        or type(k) is not int
    ):
        raise TokenRejected("the approved query's declaration lacks valid fields, period or k")
    return Declaration(query_id, digest, frozenset(fields), str(period), k)
