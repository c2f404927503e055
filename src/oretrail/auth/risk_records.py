"""Risk-management records signed with the tracing organisation's key.

A record (domain.risk_management) is the organisation's own statement, so its
organisation key signs it (DESIGN.md, "Who signs what"), as an EdDSA JWS of
``typ: risk-record+jwt``: ``iss`` the organisation, ``sub`` the flag kind, ``aud``
the federation, ``jti`` the record id, and the decision, rationale, lot, decision
date and review date. The gateway verifies it against the organisation key pinned
in its registry copy and keeps it only for the caller's own organisation: nobody,
the gateway included, can record a decision in another member's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from oretrail.auth.keys import SigningKey
from oretrail.auth.tokens import FEDERATION, KeySource, VerifyPolicy, mint, org_of, verify
from oretrail.domain.risk_management import Decision, RiskRecord, record_problem
from oretrail.errors import InvalidInput, TokenRejected

__all__ = ["RISK_RECORD_TYP", "sign_risk_record", "verify_risk_record"]

RISK_RECORD_TYP = "risk-record+jwt"
# A decision is reviewed at least yearly (OECD DDG step 3: monitor and review).
RISK_RECORD_MAX_LIFETIME = 366 * 24 * 3600


def sign_risk_record(
    org_key: SigningKey,
    *,
    flag: str,
    lot: str | None,
    decision: str,
    rationale: str,
    decided_on: date,
    review_by: date | None,
    now: float | None = None,
) -> str:
    """The organisation's signed record; InvalidInput when the fields cannot make one."""
    problem = record_problem(flag, lot, decision, rationale, review_by)
    if problem is not None:
        raise InvalidInput(f"risk-management record: {problem}")
    claims: dict[str, Any] = {
        "sub": flag,
        "aud": FEDERATION,
        "lot": lot,
        "decision": decision,
        "rationale": rationale,
        "decided_on": decided_on.isoformat(),
        "review_by": None if review_by is None else review_by.isoformat(),
    }
    return mint(org_key, RISK_RECORD_TYP, claims, lifetime=RISK_RECORD_MAX_LIFETIME, now=now)


async def verify_risk_record(
    token: object, org_keys: KeySource, *, org: str, clock: Callable[[], float] = time.time
) -> RiskRecord:
    """The record in ``token``, signed by ``org``'s pinned organisation key.

    Raises TokenRejected when the signature, type, audience or times fail, or when the
    signer is not ``org``; InvalidInput when the fields do not make a record.
    """
    policy = VerifyPolicy(
        RISK_RECORD_TYP, FEDERATION, RISK_RECORD_MAX_LIFETIME, single_use=False, max_bytes=16384
    )
    try:
        claims = await verify(token, policy, org_keys, clock=clock)
    except TokenRejected as exc:
        raise TokenRejected(f"risk-management record: {exc}") from None
    signer = org_of(claims["iss"])
    if signer != org:
        raise TokenRejected(
            f"risk-management record is signed by {signer or claims['iss']!r}, not by the "
            f"caller's organisation {org!r}"
        )
    lot, decision, rationale = claims.get("lot"), claims.get("decision"), claims.get("rationale")
    if not (lot is None or isinstance(lot, str)) or not isinstance(decision, str):
        raise InvalidInput("risk-management record: lot or decision is not text")
    if not isinstance(rationale, str):
        raise InvalidInput("risk-management record: rationale is not text")
    decided_on = _date(claims.get("decided_on"), "decided_on")
    review = claims.get("review_by")
    review_by = None if review is None else _date(review, "review_by")
    problem = record_problem(claims["sub"], lot, decision, rationale, review_by)
    if problem is not None:
        raise InvalidInput(f"risk-management record: {problem}")
    return RiskRecord(
        id=claims["jti"],
        org=org,
        flag=claims["sub"],
        lot=lot,
        decision=Decision(decision),
        rationale=rationale,
        decided_on=decided_on,
        review_by=review_by,
        signed_at=datetime.fromtimestamp(claims["iat"], UTC),
        token=str(token),
    )


def _date(value: object, name: str) -> date:
    if not isinstance(value, str):
        raise InvalidInput(f"risk-management record: {name} is not an ISO 8601 date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"risk-management record: {name} {value[:20]!r} is not a date") from None
