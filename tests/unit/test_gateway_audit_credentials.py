"""The gateway's credential check: where status lists are read from, how long they are
kept, and a genuine credential presented for another facility."""

from __future__ import annotations

from datetime import date

from oretrail.auth.keys import generate_signing_key
from oretrail.auth.pinned import MemberRecord, PinnedRegistry
from oretrail.auth.tokens import org_issuer
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Certificate
from oretrail.gateway.audit_credentials import AuditCredentials, StatusListCache
from oretrail.standards.audit_credentials import issue_audit_credential, sign_status_list

AUDITOR = generate_signing_key(org_issuer("assurance-partners"), "ap-org-1")
# Where the auditor's node answers in the gateway's pinned copy.
ENDPOINT = "http://10.0.0.7:9443/graphql"
# Where the credential says the list is: another host; only its path is used.
NAMED = "https://elsewhere.example/credentials/status/1"
FACILITY = "urn:oretrail:facility:boreal-cobalt:kokkola-refinery"


def pinned() -> PinnedRegistry:
    member = MemberRecord(
        "assurance-partners", frozenset({"AUDITOR"}), ENDPOINT, (AUDITOR.trusted(),), ()
    )
    return PinnedRegistry({"assurance-partners": member}, [])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lists:
    """The auditor's published list, and every URL the gateway downloaded."""

    def __init__(self, ttl_ms: int) -> None:
        self.revoked: set[int] = set()
        self.ttl_ms = ttl_ms
        self.downloads: list[str] = []

    async def download(self, url: str) -> str:
        self.downloads.append(url)
        return sign_status_list(AUDITOR, NAMED, self.revoked, ttl_ms=self.ttl_ms)


def graph(facility: str = FACILITY) -> LotGraph:
    token = issue_audit_credential(
        AUDITOR,
        certificate_id="RMAP-2025-BCR-031",
        facility=FACILITY,
        standard="RMAP",
        scope="cobalt refiner assessment",
        valid_from=date(2025, 5, 1),
        valid_until=date(2028, 4, 30),
        status_list=NAMED,
        status_index=3,
    )
    # What the node claims beside the credential; the checked certificate replaces it.
    presented = Certificate(
        "RMAP-2025-BCR-031",
        facility,
        "assurance-partners",
        "RMAP",
        "claimed scope",
        date(2020, 1, 1),
        date(2099, 1, 1),
        credential=token,
    )
    lot = TracedLot(
        "urn:oretrail:lot:boreal-cobalt:CS-2026-102",
        "boreal-cobalt",
        "cobalt sulfate",
        14000.0,
        {"Co": 0.21},
        None,
        certificates=(presented,),
        produced_at=date(2026, 3, 4),
    )
    return LotGraph(lot.id, {lot.id: lot})


def verification(checked: LotGraph) -> tuple[str, Certificate]:
    [certificate] = next(iter(checked.lots.values())).certificates
    return certificate.verification, certificate


async def test_the_list_is_read_from_the_pinned_endpoint_and_kept_for_its_ttl() -> None:
    lists, clock = Lists(ttl_ms=2500), Clock()
    checker = AuditCredentials(pinned(), StatusListCache(lists.download, clock=clock))
    status, certificate = verification(await checker.check(graph(), date(2026, 11, 26)))
    assert status == "VALID"
    # The credential's own fields, not the node's claimed scope and dates.
    assert certificate.scope == "cobalt refiner assessment"
    assert (certificate.valid_from, certificate.valid_to) == (date(2025, 5, 1), date(2028, 4, 30))
    # The pinned endpoint's scheme, host and port, with the credential's path.
    assert lists.downloads == ["http://10.0.0.7:9443/credentials/status/1"]
    lists.revoked.add(3)
    # 2.4 s later: inside the 2,500 ms ttl, the cached list (bit clear) still answers.
    clock.now += 2.4
    assert verification(await checker.check(graph(), date(2026, 11, 26)))[0] == "VALID"
    assert len(lists.downloads) == 1
    # 2.6 s after the first read: past the ttl, the list is read again.
    clock.now += 0.2
    assert verification(await checker.check(graph(), date(2026, 11, 26)))[0] == "REVOKED"
    assert len(lists.downloads) == 2


async def test_a_ttl_above_five_minutes_is_capped() -> None:
    # An hour asked (3,600,000 ms); the cache keeps it 300 s at most.
    lists, clock = Lists(ttl_ms=3_600_000), Clock()
    checker = AuditCredentials(pinned(), StatusListCache(lists.download, clock=clock))
    await checker.check(graph(), date(2026, 11, 26))
    clock.now += 299.0
    await checker.check(graph(), date(2026, 11, 26))
    assert len(lists.downloads) == 1
    clock.now += 2.0
    await checker.check(graph(), date(2026, 11, 26))
    assert len(lists.downloads) == 2


async def test_a_genuine_credential_for_another_facility_is_forged_here() -> None:
    lists = Lists(ttl_ms=0)
    checker = AuditCredentials(pinned(), StatusListCache(lists.download))
    other = "urn:oretrail:facility:nordic-nickel:satakunta-refinery"
    status, certificate = verification(await checker.check(graph(other), date(2026, 11, 26)))
    assert status == "FORGED"
    assert certificate.subject == other
