"""Risk-management records signed with the organisation key: what verifies, what is refused."""

from __future__ import annotations

import time
from datetime import date

import pytest

from oretrail.auth.keys import KeyRing, SigningKey, generate_signing_key
from oretrail.auth.risk_records import sign_risk_record, verify_risk_record
from oretrail.auth.roots import sign_root_list
from oretrail.auth.tokens import StaticKeys, org_issuer
from oretrail.domain.risk_management import Decision
from oretrail.errors import InvalidInput, TokenRejected

LOT = "urn:oretrail:lot:kachin-clay:MRC-2026-003"


def org_key(org: str) -> SigningKey:
    return generate_signing_key(org_issuer(org), f"{org}-org-1")


def ring(*keys: SigningKey) -> StaticKeys:
    keyring = KeyRing()
    for key in keys:
        keyring.add(key.trusted())
    return StaticKeys(keyring)


def signed(key: SigningKey, **changes: object) -> str:
    fields: dict[str, object] = {
        "flag": "ASM_ORIGIN",
        "lot": LOT,
        "decision": "MITIGATE",
        "rationale": "site assessment under the OECD Annex II model policy by Q2",
        "decided_on": date(2026, 11, 20),
        "review_by": date(2027, 5, 31),
        **changes,
    }
    return sign_risk_record(key, **fields)  # type: ignore[arg-type]


async def test_a_record_signed_by_the_callers_organisation_verifies() -> None:
    key = org_key("nordvolt")
    record = await verify_risk_record(signed(key), ring(key), org="nordvolt")
    assert (record.org, record.flag, record.lot, record.decision) == (
        "nordvolt", "ASM_ORIGIN", LOT, Decision.MITIGATE
    )  # fmt: skip
    assert (record.decided_on, record.review_by) == (date(2026, 11, 20), date(2027, 5, 31))


async def test_a_record_signed_by_another_member_is_refused() -> None:
    theirs = org_key("rivalauto")
    with pytest.raises(TokenRejected, match="signed by 'rivalauto', not by the caller's"):
        await verify_risk_record(signed(theirs), ring(theirs), org="nordvolt")


async def test_a_key_not_pinned_and_an_edited_record_are_refused() -> None:
    key, stranger = org_key("nordvolt"), generate_signing_key(org_issuer("nordvolt"), "x-1")
    with pytest.raises(TokenRejected, match="key id that is not trusted"):
        await verify_risk_record(signed(stranger), ring(key), org="nordvolt")
    header, payload, signature = signed(key).split(".")
    other = signed(key, decision="ACCEPT", review_by=None).split(".")[1]
    with pytest.raises(TokenRejected, match="signature does not verify"):
        await verify_risk_record(f"{header}.{other}.{signature}", ring(key), org="nordvolt")
    assert payload != other


async def test_another_kind_of_token_is_not_a_record() -> None:
    key = org_key("nordvolt")
    roots = sign_root_list(key, "line", [LOT], "2026-07-01/2026-09-30")
    with pytest.raises(TokenRejected, match="token type is not risk-record\\+jwt"):
        await verify_risk_record(roots, ring(key), org="nordvolt")


async def test_a_record_past_its_year_is_refused() -> None:
    key = org_key("nordvolt")
    token = signed(key)
    with pytest.raises(TokenRejected, match="risk-management record"):
        await verify_risk_record(
            token, ring(key), org="nordvolt", clock=lambda: time.time() + 367 * 24 * 3600
        )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"rationale": " "}, "rationale is empty"),
        ({"decision": "IGNORE"}, "decision 'IGNORE' is not one of"),
        ({"flag": "BAD_VIBES"}, "flag 'BAD_VIBES' is not one of"),
        ({"review_by": None}, "a MITIGATE decision needs a review date"),
    ],
)
def test_fields_that_cannot_make_a_record_are_refused_before_signing(
    changes: dict[str, object], problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        signed(org_key("nordvolt"), **changes)
