"""Product-line root lists: the lots a product line's owner opens to approved queries.

An approved transparency query runs over a product line, never over lots a caller
picks. The line's owner signs the list of its root lots with its organisation key
(``typ: roots+jwt``: ``iss`` the owner, ``sub`` the line id, ``aud`` the federation,
``roots`` the lot ids, ``period`` the reporting period they are the line's roots
for, an ISO 8601 interval of dates such as ``2026-07-01/2026-09-30``; the token
itself valid at most a year); the gateway
forwards it with the caller's signed request, and the owner's node opens a root
for a transparency request only if the list, verified against the owner key
pinned in the node's own registry copy, names it and names the period whose end
the request's as-of is (DESIGN.md, Trust 3 and 5).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from oretrail.auth.keys import SigningKey
from oretrail.auth.tokens import FEDERATION, KeySource, VerifyPolicy, mint, org_of, verify
from oretrail.errors import TokenRejected

__all__ = ["ROOTS_TYP", "RootList", "sign_root_list", "verify_root_list"]

ROOTS_TYP = "roots+jwt"
ROOTS_MAX_LIFETIME = 366 * 24 * 3600
MAX_ROOTS = 1000
_PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class RootList:
    owner: str
    line: str
    roots: frozenset[str]
    issued: int
    period: str


def sign_root_list(
    org_key: SigningKey,
    line: str,
    roots: Sequence[str],
    period: str,
    *,
    lifetime: int = 90 * 24 * 3600,
) -> str:
    """The owner's signed list of a product line's root lots for one reporting period
    (``period``: ``<first day>/<last day>``, ISO 8601 dates)."""
    if not _PERIOD.fullmatch(period):
        raise ValueError(f"a reporting period is written FIRST/LAST (ISO 8601 dates): {period!r}")
    claims = {"sub": line, "aud": FEDERATION, "roots": list(roots), "period": period}
    return mint(org_key, ROOTS_TYP, claims, lifetime=min(lifetime, ROOTS_MAX_LIFETIME))


async def verify_root_list(
    token: object, org_keys: KeySource, line: str, *, clock: Callable[[], float] = time.time
) -> RootList:
    """Verify a root list for ``line`` against pinned organisation keys."""
    policy = VerifyPolicy(
        ROOTS_TYP, FEDERATION, ROOTS_MAX_LIFETIME, single_use=False, max_bytes=256 * 1024
    )
    try:
        claims = await verify(token, policy, org_keys, clock=clock)
    except TokenRejected as exc:
        raise TokenRejected(f"product-line root list: {exc}") from None
    owner = org_of(claims["iss"])
    roots = claims.get("roots")
    period = claims.get("period")
    if not isinstance(period, str) or not _PERIOD.fullmatch(period):
        raise TokenRejected("the root list names no reporting period")
    if owner is None or claims["sub"] != line:
        raise TokenRejected("the root list is not the signed list of this product line")
    if (
        not isinstance(roots, list)
        or len(roots) > MAX_ROOTS
        or not all(isinstance(r, str) for r in roots)
    ):
        raise TokenRejected("the root list's roots are not a list of lot ids")
    return RootList(owner, line, frozenset(roots), claims["iat"], period)
