"""Audit credentials (vc+jwt) and their Bitstring Status List: issue, revoke, verify."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import date

import pytest

from oretrail.auth.keys import KeyRing, SigningKey, generate_signing_key
from oretrail.auth.tokens import StaticKeys, org_issuer
from oretrail.errors import InvalidInput
from oretrail.standards.audit_credentials import (
    CredentialCheck,
    CredentialStatus,
    StatusListFetch,
    check_audit_credential,
    decode_status_list,
    encode_status_list,
    issue_audit_credential,
    revoked_indices,
    sign_status_list,
)
from oretrail.standards.vc import CredentialRejected

AUDITOR = generate_signing_key(org_issuer("assurance-partners"), "assurance-partners-org-1")
# A member that is not an auditor, with a key pinned like any member's.
REFINER = generate_signing_key(org_issuer("boreal-cobalt"), "boreal-cobalt-org-1")
# The same key id and issuer as the auditor's, but another private key: a forger.
FORGER = generate_signing_key(org_issuer("assurance-partners"), "assurance-partners-org-1")
LIST_URL = "http://127.0.0.1:8116/credentials/status/1"
FACILITY = "urn:oretrail:facility:boreal-cobalt:kokkola-refinery"
AUDITORS = frozenset({"assurance-partners"})


def keys() -> StaticKeys:
    ring = KeyRing()
    ring.add(AUDITOR.trusted())
    ring.add(REFINER.trusted())
    return StaticKeys(ring)


def audit(key: SigningKey = AUDITOR, index: int = 7, until: date = date(2028, 4, 30)) -> str:
    return issue_audit_credential(
        key,
        certificate_id="RMAP-2025-BCR-031",
        facility=FACILITY,
        standard="RMAP",
        scope="cobalt refiner assessment",
        valid_from=date(2025, 5, 1),
        valid_until=until,
        status_list=LIST_URL,
        status_index=index,
    )


def lists(revoked: frozenset[int], key: SigningKey = AUDITOR) -> StatusListFetch:
    async def fetch(auditor: str, url: str) -> str:
        assert (auditor, url) == ("assurance-partners", LIST_URL)
        return sign_status_list(key, url, revoked)

    return fetch


async def check(
    token: str, revoked: frozenset[int] = frozenset(), day: date = date(2026, 3, 1)
) -> CredentialCheck:
    return await check_audit_credential(
        token, org_keys=keys(), auditors=AUDITORS, day=day, fetch_status_list=lists(revoked)
    )


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- the status list encoding -------------------------------------------------------


def test_a_hand_built_list_decodes_bit_for_bit() -> None:
    # 16 KiB = 16384 bytes = 131072 bits. Bits 0 and 7 are the first byte's most and
    # least significant: 0x80 | 0x01 = 0x81. Bit 9 is the second byte's 0x80 >> 1 = 0x40.
    # Bit 131071 is the last byte's least significant: 0x01.
    raw = bytearray(16384)
    raw[0], raw[1], raw[16383] = 0x81, 0x40, 0x01
    encoded = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(raw))).rstrip(b"=").decode()
    assert decode_status_list(encoded) == bytes(raw)
    assert revoked_indices(decode_status_list(encoded)) == [0, 7, 9, 131071]


def test_encoding_sets_the_same_bits_as_the_hand_built_list() -> None:
    encoded = encode_status_list({0, 7, 9, 131071})
    assert encoded.startswith("u")
    assert "=" not in encoded
    raw = gzip.decompress(_b64(encoded[1:]))
    assert len(raw) == 16384
    assert (raw[0], raw[1], raw[2], raw[16383]) == (0x81, 0x40, 0x00, 0x01)
    assert sum(bin(b).count("1") for b in raw) == 4


def test_the_specifications_example_list_is_all_clear() -> None:
    # Bitstring Status List v1.0, example "BitstringStatusListCredential": 16 KiB, no bit set.
    example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    bits = decode_status_list(example)
    assert len(bits) == 16384
    assert revoked_indices(bits) == []


@pytest.mark.parametrize(
    "encoded",
    [
        "H4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",  # no 'u'
        "unot-gzip",
        "u" + base64.urlsafe_b64encode(gzip.compress(bytes(100))).decode().rstrip("="),  # short
    ],
)
def test_what_is_not_a_status_list_is_refused(encoded: str) -> None:
    with pytest.raises(CredentialRejected):
        decode_status_list(encoded)


def test_an_index_outside_the_list_is_refused() -> None:
    with pytest.raises(InvalidInput, match="131072"):
        encode_status_list({131072})


# --- issue and verify --------------------------------------------------------------


def test_an_issued_credential_is_a_vc_2_0_audit_certificate() -> None:
    header, payload, _ = audit().split(".")
    assert json.loads(_b64(header))["typ"] == "vc+jwt"
    credential = json.loads(_b64(payload))
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["issuer"] == "urn:oretrail:org:assurance-partners"
    assert credential["validFrom"] == "2025-05-01T00:00:00Z"
    assert credential["validUntil"] == "2028-04-30T23:59:59Z"
    assert credential["credentialSubject"] == {
        "id": FACILITY,
        "type": "AuditedFacility",
        "standard": "RMAP",
        "scope": "cobalt refiner assessment",
    }
    assert credential["credentialStatus"] == {
        "id": LIST_URL + "#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": LIST_URL,
    }


async def test_a_valid_credential_states_its_certificate() -> None:
    result = await check(audit())
    assert result.status is CredentialStatus.VALID, result.detail
    assert result.certificate is not None
    assert result.certificate.id == "RMAP-2025-BCR-031"
    assert result.certificate.issuer == "assurance-partners"
    assert (result.certificate.valid_from, result.certificate.valid_to) == (
        date(2025, 5, 1),
        date(2028, 4, 30),
    )


async def test_a_revoked_credential_is_revoked_and_another_bit_is_not() -> None:
    assert (await check(audit(index=7), revoked=frozenset({7}))).status is CredentialStatus.REVOKED
    # Bit 6 and bit 8 are its neighbours in the same and the next byte.
    assert (await check(audit(index=7), revoked=frozenset({6, 8}))).status is CredentialStatus.VALID


async def test_validity_is_judged_on_the_day_given_inclusive() -> None:
    token = audit(until=date(2026, 2, 28))
    assert (await check(token, day=date(2026, 2, 28))).status is CredentialStatus.VALID
    assert (await check(token, day=date(2026, 3, 1))).status is CredentialStatus.EXPIRED
    assert (await check(token, day=date(2025, 4, 30))).status is CredentialStatus.EXPIRED


async def test_a_forged_signature_is_forged() -> None:
    assert (await check(audit(FORGER))).status is CredentialStatus.FORGED


async def test_one_changed_byte_of_the_payload_is_forged() -> None:
    header, payload, signature = audit().split(".")
    changed = json.loads(_b64(payload))
    changed["validUntil"] = "2099-04-30T23:59:59Z"
    body = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    assert (await check(f"{header}.{body}.{signature}")).status is CredentialStatus.FORGED


async def test_a_member_that_is_no_auditor_is_an_unknown_issuer() -> None:
    assert (await check(audit(REFINER))).status is CredentialStatus.UNKNOWN_ISSUER


async def test_a_status_list_signed_by_another_key_does_not_count() -> None:
    result = await check_audit_credential(
        audit(),
        org_keys=keys(),
        auditors=AUDITORS,
        day=date(2026, 3, 1),
        fetch_status_list=lists(frozenset(), FORGER),
    )
    assert result.status is CredentialStatus.STATUS_UNKNOWN


async def test_garbage_is_forged_not_an_error() -> None:
    assert (await check("not.a.jws")).status is CredentialStatus.FORGED
