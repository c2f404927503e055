"""Keys, users and signed requests of a small federation, for unit tests of the trust chain."""

from __future__ import annotations

from datetime import UTC, date, datetime

from oretrail.auth.callers import UserIdentity
from oretrail.auth.party_keys import FederationKeys
from oretrail.auth.pinned import PinnedRegistry
from oretrail.auth.requests import RequestContext, SignedRequest, sign_request, verify_request

ORGS = ("nordvolt", "helios-cathode", "boreal-cobalt", "kambove-mining", "rivalauto")
KEYS = FederationKeys.generate(ORGS)
ROLES = {
    "nordvolt": ["OEM", "PACK"],
    "helios-cathode": ["CATHODE"],
    "boreal-cobalt": ["REFINER"],
    "kambove-mining": ["MINE"],
    "rivalauto": ["OEM"],
}
PACK = "urn:oretrail:lot:nordvolt:P1"
CATHODE = "urn:oretrail:lot:helios-cathode:C1"
SULFATE = "urn:oretrail:lot:boreal-cobalt:S1"
ORE = "urn:oretrail:lot:kambove-mining:M1"
PRODUCED = date(2026, 4, 10)


def pinned() -> PinnedRegistry:
    """A fresh registry copy, as a node's operator installs it."""
    return KEYS.pinned(ROLES)


def user(org: str = "nordvolt") -> UserIdentity:
    return KEYS.user(org, f"ann@{org}")


async def signed(
    roots: tuple[str, ...] = (PACK,), *, op: str = "trace", depth: int = 20, org: str = "nordvolt"
) -> SignedRequest:
    """A verified signed request of a user of ``org``."""
    context = RequestContext(
        op=op,
        roots=roots,
        depth=depth,
        as_of=datetime(2026, 11, 30, tzinfo=UTC),
        purpose=op,
        doc="d",
        vars="v",
    )
    caller = user(org)
    token = sign_request(caller, context)
    return await verify_request(token, caller.certificate, pinned().org_keys)
