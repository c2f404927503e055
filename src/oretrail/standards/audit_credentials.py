"""Audit certificates as W3C Verifiable Credentials 2.0 (``vc+jwt``), revocable through a
W3C Bitstring Status List v1.0.

An auditor organisation signs, with its **organisation key** (DESIGN.md, "Who signs
what"), a credential whose subject is the audited facility::

    {"@context": ["https://www.w3.org/ns/credentials/v2"],
     "id": "urn:oretrail:audit:<certificate id>",
     "type": ["VerifiableCredential", "AuditCertificateCredential"],
     "issuer": "urn:oretrail:org:<auditor>",
     "validFrom": "YYYY-MM-DDT00:00:00Z", "validUntil": "YYYY-MM-DDT23:59:59Z",
     "credentialSubject": {"id": "<facility id>", "type": "AuditedFacility",
                           "standard": "RMAP", "scope": "..."},
     "credentialStatus": {"id": "<list url>#<index>", "type": "BitstringStatusListEntry",
                          "statusPurpose": "revocation", "statusListIndex": "<index>",
                          "statusListCredential": "<list url>"}}

and revokes it by setting bit ``index`` of the status list credential it publishes
(also a ``vc+jwt`` under its organisation key): ``encodedList`` is the multibase
base64url (``u`` prefix, no padding) of the GZIP-compressed bitstring, at least
16 KiB (131,072 entries) for herd privacy; bit 0 is the most significant bit of the
first byte (Bitstring Status List v1.0, section 3.1 and 3.2).

A verifier (:func:`check_audit_credential`) reports one :class:`CredentialStatus`.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import jwt

from oretrail.auth.keys import SigningKey, TrustedKey
from oretrail.auth.tokens import KeySource, org_issuer, org_of
from oretrail.domain.model import Certificate
from oretrail.errors import InvalidInput
from oretrail.standards.vc import (
    VC_CONTEXT,
    CredentialRejected,
    issuer_id,
    sign_credential,
    verify_credential,
)

__all__ = [
    "AUDIT_CREDENTIAL_TYPE",
    "MIN_STATUS_LIST_BITS",
    "CredentialCheck",
    "CredentialStatus",
    "StatusListFetch",
    "check_audit_credential",
    "decode_status_list",
    "encode_status_list",
    "issue_audit_credential",
    "read_status_list",
    "revoked_indices",
    "sign_status_list",
]

AUDIT_CREDENTIAL_TYPE = "AuditCertificateCredential"
STATUS_LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
# Bitstring Status List v1.0, section 3.1: at least 16 KiB, so one index says little.
MIN_STATUS_LIST_BITS = 16 * 1024 * 8
# A compressed list larger than this is refused before it is decompressed (a gzip bomb).
MAX_STATUS_LIST_BITS = 8 * 1024 * 1024 * 8
AUDIT_ID_PREFIX = "urn:oretrail:audit:"


class CredentialStatus(StrEnum):
    """What a verifier found for one certificate a node presented."""

    VALID = "VALID"
    EXPIRED = "EXPIRED"  # signed and not revoked, but not valid on the day judged
    REVOKED = "REVOKED"  # its bit is set in the issuer's status list
    FORGED = "FORGED"  # the signature, header or content does not verify
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"  # the issuer is no registered auditor with a pinned key
    UNVERIFIED = "UNVERIFIED"  # a plain record, not a credential: nothing to verify
    STATUS_UNKNOWN = "STATUS_UNKNOWN"  # signed, but its status list could not be read


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """The outcome of checking one credential, the certificate it states when it was
    readable, and a sentence saying why."""

    status: CredentialStatus
    detail: str
    certificate: Certificate | None = None


# Fetches the status list credential (a vc+jwt) the auditor (organisation id) publishes
# at a URL; raises OSError or CredentialRejected when it cannot.
StatusListFetch = Callable[[str, str], Awaitable[str]]


def _day_start(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _day_end(day: date) -> str:
    return f"{day.isoformat()}T23:59:59Z"


def issue_audit_credential(
    key: SigningKey,
    *,
    certificate_id: str,
    facility: str,
    standard: str,
    scope: str,
    valid_from: date,
    valid_until: date,
    status_list: str,
    status_index: int,
) -> str:
    """An audit certificate as a ``vc+jwt`` signed by the auditor's organisation ``key``.

    Validity is whole days, UTC. Raises InvalidInput when the dates are reversed or the
    index is negative.
    """
    if valid_until < valid_from:
        raise InvalidInput(f"validUntil {valid_until} is before validFrom {valid_from}")
    if status_index < 0:
        raise InvalidInput(f"status list index {status_index} is negative")
    credential = {
        "@context": [VC_CONTEXT],
        "id": AUDIT_ID_PREFIX + certificate_id,
        "type": ["VerifiableCredential", AUDIT_CREDENTIAL_TYPE],
        "issuer": key.issuer,
        "validFrom": _day_start(valid_from),
        "validUntil": _day_end(valid_until),
        "credentialSubject": {
            "id": facility,
            "type": "AuditedFacility",
            "standard": standard,
            "scope": scope,
        },
        "credentialStatus": {
            "id": f"{status_list}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": status_list,
        },
    }
    return sign_credential(credential, key)


def encode_status_list(revoked: Collection[int], size: int = MIN_STATUS_LIST_BITS) -> str:
    """``encodedList`` for a list of ``size`` bits with the bits ``revoked`` set.

    Raises InvalidInput for a size under the minimum or not whole bytes, or an index
    outside the list.
    """
    if size < MIN_STATUS_LIST_BITS or size % 8:
        raise InvalidInput(f"a status list has whole bytes and at least {MIN_STATUS_LIST_BITS}")
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise InvalidInput(f"status list index {index} is outside 0..{size - 1}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same list always encodes to the same text.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: str) -> bytes:
    """The bitstring ``encodedList`` carries; CredentialRejected when it is not one."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise CredentialRejected("encodedList is not multibase base64url (prefix 'u')")
    try:
        packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as stream:
            bits = stream.read(MAX_STATUS_LIST_BITS // 8 + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise CredentialRejected(f"encodedList does not decode: {exc}") from None
    if len(bits) > MAX_STATUS_LIST_BITS // 8:
        raise CredentialRejected("the status list is larger than any verifier reads")
    if len(bits) * 8 < MIN_STATUS_LIST_BITS:
        raise CredentialRejected(f"the status list has fewer than {MIN_STATUS_LIST_BITS} bits")
    return bits


def revoked_indices(bits: bytes) -> list[int]:
    """The indices whose bit is set, bit 0 being the first byte's most significant bit."""
    return [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]


def _bit(bits: bytes, index: int) -> bool:
    if index >= len(bits) * 8:
        raise CredentialRejected(f"status list index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def sign_status_list(
    key: SigningKey,
    url: str,
    revoked: Collection[int],
    *,
    ttl_ms: int | None = None,
    now: datetime | None = None,
) -> str:
    """The issuer's status list credential for ``url``, revocation purpose, as a ``vc+jwt``.

    ``ttl_ms`` is how long verifiers may cache it (the spec's ``ttl``, milliseconds).
    """
    issued = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    credential = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", STATUS_LIST_CREDENTIAL_TYPE],
        "issuer": key.issuer,
        "validFrom": issued,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked),
            **({} if ttl_ms is None else {"ttl": ttl_ms}),
        },
    }
    return sign_credential(credential, key)


async def read_status_list(token: str, url: str, org_keys: KeySource, issuer: str) -> bytes:
    """The bitstring of a status list credential, once it verifies under ``issuer``'s pinned
    key and is the list at ``url`` for revocation. Raises CredentialRejected."""
    trusted = await _issuer_key(token, org_keys)
    if trusted is None or trusted.issuer != issuer:
        raise CredentialRejected(f"the status list at {url} is not signed by {issuer}")
    credential = verify_credential(token, trusted)
    subject = credential.get("credentialSubject")
    if (
        credential.get("id") != url
        or STATUS_LIST_CREDENTIAL_TYPE not in _types(credential)
        or not isinstance(subject, Mapping)
        or subject.get("statusPurpose") != "revocation"
    ):
        raise CredentialRejected(f"{url} does not hold a revocation status list")
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise CredentialRejected(f"the status list at {url} has no encodedList")
    return decode_status_list(encoded)


async def check_audit_credential(
    token: str,
    *,
    org_keys: KeySource,
    auditors: Collection[str],
    day: date,
    fetch_status_list: StatusListFetch,
) -> CredentialCheck:
    """Check an audit credential a node presented, for a lot produced on ``day``.

    In order: the issuer must be a registered auditor (``auditors``, organisation ids)
    whose pinned organisation key signed it (else UNKNOWN_ISSUER or FORGED); its
    content must be an audit credential (else FORGED); its status list bit must be
    clear (else REVOKED; STATUS_UNKNOWN when the list cannot be read); ``day`` must
    lie within validFrom..validUntil (else EXPIRED). Never raises.
    """
    try:
        claimed = _claimed_issuer(token)
    except CredentialRejected as exc:
        return CredentialCheck(CredentialStatus.FORGED, str(exc))
    auditor = org_of(claimed) if claimed else None
    if auditor is None or auditor not in auditors:
        return CredentialCheck(
            CredentialStatus.UNKNOWN_ISSUER, f"issuer {claimed!r} is not a registered auditor"
        )
    trusted = await _issuer_key(token, org_keys)
    if trusted is None or trusted.issuer != org_issuer(auditor):
        return CredentialCheck(
            CredentialStatus.FORGED, f"no pinned organisation key of {auditor} signed it"
        )
    try:
        credential = verify_credential(token, trusted)
        certificate, entry = _audit(credential, auditor)
    except CredentialRejected as exc:
        return CredentialCheck(CredentialStatus.FORGED, str(exc))
    url, index = entry
    try:
        bits = await read_status_list(
            await fetch_status_list(auditor, url), url, org_keys, claimed or ""
        )
        revoked = _bit(bits, index)
    except (OSError, CredentialRejected) as exc:
        return CredentialCheck(
            CredentialStatus.STATUS_UNKNOWN,
            f"the status list {url} could not be read: {exc}",
            certificate,
        )
    if revoked:
        return CredentialCheck(
            CredentialStatus.REVOKED,
            f"{auditor} revoked it (status list {url}, index {index})",
            certificate,
        )
    if not certificate.valid_from <= day <= certificate.valid_to:
        return CredentialCheck(
            CredentialStatus.EXPIRED,
            f"valid {certificate.valid_from} to {certificate.valid_to}, not on {day}",
            certificate,
        )
    return CredentialCheck(
        CredentialStatus.VALID, f"signed by {auditor}, valid on {day}", certificate
    )


def _claimed_issuer(token: str) -> str | None:
    """The issuer the payload names, read before any verification (to pick the key)."""
    if not isinstance(token, str):
        raise CredentialRejected("a credential is a compact JWS")
    try:
        unverified = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
        payload = json.loads(unverified["payload"])
    except (jwt.PyJWTError, ValueError, UnicodeDecodeError):
        raise CredentialRejected("not a readable compact JWS") from None
    if not isinstance(payload, dict):
        raise CredentialRejected("the payload is not a JSON object")
    return issuer_id(payload)


async def _issuer_key(token: str, org_keys: KeySource) -> TrustedKey | None:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return await org_keys.get(kid) if isinstance(kid, str) else None


def _types(credential: Mapping[str, Any]) -> list[Any]:
    kinds = credential.get("type")
    return kinds if isinstance(kinds, list) else [kinds]


def _audit(credential: Mapping[str, Any], auditor: str) -> tuple[Certificate, tuple[str, int]]:
    """The certificate an audit credential states and its status entry (url, index)."""
    if AUDIT_CREDENTIAL_TYPE not in _types(credential):
        raise CredentialRejected(f"not an {AUDIT_CREDENTIAL_TYPE}")
    subject = credential.get("credentialSubject")
    status = credential.get("credentialStatus")
    if not isinstance(subject, Mapping) or not isinstance(status, Mapping):
        raise CredentialRejected("credentialSubject or credentialStatus is missing")
    texts = [subject.get(k) for k in ("id", "standard", "scope")] + [credential.get("id")]
    if not all(isinstance(t, str) for t in texts):
        raise CredentialRejected("the subject's id, standard or scope, or the id, is not text")
    index = status.get("statusListIndex")
    url = status.get("statusListCredential")
    if (
        status.get("type") != "BitstringStatusListEntry"
        or status.get("statusPurpose") != "revocation"
        or not isinstance(url, str)
        or not isinstance(index, str)
        or not index.isdigit()
    ):
        raise CredentialRejected("credentialStatus is not a revocation BitstringStatusListEntry")
    try:
        valid_from = datetime.fromisoformat(str(credential.get("validFrom"))).date()
        valid_to = datetime.fromisoformat(str(credential.get("validUntil"))).date()
    except ValueError:
        raise CredentialRejected("validFrom or validUntil is not a date-time") from None
    certificate = Certificate(
        id=str(credential["id"]).removeprefix(AUDIT_ID_PREFIX),
        subject=str(subject["id"]),
        issuer=auditor,
        standard=str(subject["standard"]),
        scope=str(subject["scope"]),
        valid_from=valid_from,
        valid_to=valid_to,
    )
    return certificate, (url, int(index))
