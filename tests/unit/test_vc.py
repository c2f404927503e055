"""vc+jwt: a credential signed by its issuer's organisation key verifies with that key only."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.tokens import org_issuer
from oretrail.standards.vc import CredentialRejected, sign_credential, verify_credential

KEY = generate_signing_key(org_issuer("nordvolt"), "nordvolt-org-1")
OTHER = generate_signing_key(org_issuer("nordvolt"), "nordvolt-org-1")


def credential(issuer: str = "urn:oretrail:org:nordvolt") -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "id": "urn:oretrail:passport:dpp:1",
        "issuer": {"id": issuer, "name": "Nordvolt Automotive AB"},
        "credentialSubject": {"id": "urn:oretrail:lot:nordvolt:PACK-2026-0412", "mass": 22500},
    }


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_the_credential_is_the_payload_under_a_vc_jwt_header() -> None:
    token = sign_credential(credential(), KEY)
    header, payload, _ = token.split(".")
    assert json.loads(_b64(header)) == {
        "alg": "EdDSA",
        "typ": "vc+jwt",
        "cty": "vc",
        "kid": "nordvolt-org-1",
    }
    # VC-JOSE-COSE: the payload is the credential itself, no "vc" claim around it.
    assert json.loads(_b64(payload)) == credential()
    assert verify_credential(token, KEY.trusted()) == credential()


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_fails_when_any_one_byte_of_header_payload_or_signature_changes() -> None:
    parts = [_b64(part) for part in sign_credential(credential(), KEY).split(".")]
    for which, part in enumerate(parts):
        for index in range(len(part)):
            changed = [*parts]
            changed[which] = part[:index] + bytes([part[index] ^ 0x01]) + part[index + 1 :]
            with pytest.raises(CredentialRejected):
                verify_credential(".".join(_b64e(p) for p in changed), KEY.trusted())


def test_a_changed_figure_in_the_payload_fails_the_signature() -> None:
    header, payload, signature = sign_credential(credential(), KEY).split(".")
    body = json.loads(_b64(payload))
    body["credentialSubject"]["mass"] = 22501
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(CredentialRejected, match="signature does not verify"):
        verify_credential(f"{header}.{forged}.{signature}", KEY.trusted())


def test_another_key_with_the_same_id_does_not_verify_it() -> None:
    with pytest.raises(CredentialRejected, match="signature does not verify"):
        verify_credential(sign_credential(credential(), KEY), OTHER.trusted())


def test_an_organisation_signs_only_credentials_it_issues() -> None:
    with pytest.raises(CredentialRejected, match="is not the key's"):
        sign_credential(credential("urn:oretrail:org:rivalauto"), KEY)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"typ": "JWT"}, "typ 'JWT' is not 'vc+jwt'"),
        ({"typ": "vc+jwt", "jwk": {"kty": "OKP"}}, "refused header parameter(s): jwk"),
        ({"typ": "vc+jwt", "crit": ["exp"]}, "critical extension"),
        ({"typ": "vc+jwt", "kid": "someone-else"}, "kid 'someone-else' is not"),
    ],
)
def test_headers_that_name_keys_or_other_types_are_refused(
    headers: dict[str, Any], problem: str
) -> None:
    payload = json.dumps(credential()).encode()
    token = jwt.PyJWS().encode(
        payload, KEY.private, algorithm="EdDSA", headers={"kid": KEY.kid, **headers}
    )
    with pytest.raises(CredentialRejected) as refused:
        verify_credential(token, KEY.trusted())
    assert problem in str(refused.value)


def test_a_credential_naming_another_issuer_is_refused_even_if_signed() -> None:
    payload = json.dumps(credential("urn:oretrail:org:rivalauto")).encode()
    token = jwt.PyJWS().encode(
        payload, KEY.private, algorithm="EdDSA", headers={"kid": KEY.kid, "typ": "vc+jwt"}
    )
    with pytest.raises(CredentialRejected, match="names issuer"):
        verify_credential(token, KEY.trusted())
