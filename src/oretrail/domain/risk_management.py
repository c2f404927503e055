"""Risk-management records: the tracing organisation's decision on a flag (OECD DDG step 3).

A record says what the organisation decided about one flag of its traces: mitigate
(with a plan), suspend, disengage, or accept (with a reason). It is signed with the
organisation's key (DESIGN.md, "Who signs what"; the signing lives in
``oretrail.auth.risk_records``) and kept in the gateway's model. A record is matched to
a flag by the flag's kind and the lot it is about; it never hides the flag, it only
says the flag is managed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

__all__ = ["MANAGEABLE_FLAGS", "Decision", "RiskRecord", "record_problem"]

# Flag kinds a record may be about: the trace's flags and the profiles' own.
MANAGEABLE_FLAGS = frozenset(
    {
        "CAHRA_ORIGIN",
        "CAHRA_TRANSIT",
        "ASM_ORIGIN",
        "UNAUDITED_PROCESSOR",
        "UNRECOGNISED_AUDIT",
        "WEAK_CUSTODY",
        "MASS_BALANCE",
        "OVER_ALLOCATION",
        "LOW_COVERAGE",
    }
)


class Decision(StrEnum):
    """The risk-management strategies of OECD DDG Annex II, paragraph 10 (step 3)."""

    MITIGATE = "MITIGATE"  # continue trade while measurable risk mitigation is carried out
    SUSPEND = "SUSPEND"  # suspend trade temporarily while mitigation is pursued
    DISENGAGE = "DISENGAGE"  # disengage from the supplier
    ACCEPT = "ACCEPT"  # accept the risk, with the reason written down


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """One signed decision on one flag.

    ``flag`` is a flag kind (e.g. CAHRA_ORIGIN), ``lot`` the lot the flag is about
    (None for a flag on the whole product, such as LOW_COVERAGE), ``rationale`` the
    mitigation plan (MITIGATE), the reason (ACCEPT) or the grounds (SUSPEND,
    DISENGAGE). ``token`` is the organisation's EdDSA JWS over the same fields.
    """

    id: str
    org: str
    flag: str
    lot: str | None
    decision: Decision
    rationale: str
    decided_on: date
    review_by: date | None
    signed_at: datetime
    token: str

    def concerns(self, flag: str, lot: str | None) -> bool:
        return self.flag == flag and self.lot == lot


def record_problem(
    flag: str, lot: str | None, decision: str, rationale: str, review_by: date | None
) -> str | None:
    """Why these fields cannot make a record, or None. A plan or reason is always required,
    and mitigation and suspension need a date to review them by (OECD DDG step 3(d))."""
    if flag not in MANAGEABLE_FLAGS:
        return f"flag {flag!r} is not one of {', '.join(sorted(MANAGEABLE_FLAGS))}"
    if decision not in Decision.__members__:
        return f"decision {decision!r} is not one of {', '.join(Decision)}"
    if not rationale.strip():
        return "a record needs its plan (MITIGATE), reason (ACCEPT) or grounds: rationale is empty"
    if len(rationale) > 4000:
        return "rationale is longer than 4000 characters"
    if decision in (Decision.MITIGATE, Decision.SUSPEND) and review_by is None:
        return f"a {decision} decision needs a review date (reviewBy)"
    if lot is not None and len(lot) > 256:
        return "lot id is longer than 256 characters"
    return None
