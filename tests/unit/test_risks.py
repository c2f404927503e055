"""Risk flags and their evidence, on hand-made graphs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from oretrail.domain.attribution import attribute
from oretrail.domain.lotgraph import LotGraph, TracedLot
from oretrail.domain.model import Certificate, Custody, Facility, Role
from oretrail.domain.risks import RiskKind, RiskPolicy, assess_risks, mass_balance_shortfall
from tests.unit import lotgraphs
from tests.unit.lotgraphs import EXTRACTION, PROCESSING, lid, lot

ROOT = lid("oem", "P1")
REFINED = lid("ref", "R1")
ORE = lid("mine", "M1")
DAY = date(2026, 11, 26)
ROLES = {"oem": (Role.OEM,), "ref": (Role.REFINER,), "mine": (Role.MINE,)}


def site(*, artisanal: bool = False, cahra: bool = False) -> Facility:
    return Facility(
        "urn:oretrail:facility:mine:pit",
        "mine",
        "Pit 1",
        "mine",
        "CD",
        "Lualaba",
        artisanal=artisanal,
        cahra=cahra,
        activities=EXTRACTION,
    )


def audit(valid_to: date, *, issuer: str = "auditor", status: str = "ACTIVE") -> Certificate:
    return Certificate(
        "RMAP-1",
        "urn:oretrail:facility:ref:plant",
        issuer,
        "RMAP",
        "refiner",
        date(2023, 1, 1),
        valid_to,
        status,
    )


def refinery_lot(custody: Custody = Custody.SEGREGATED) -> TracedLot:
    """100 kg at 10 % Co refined from 100 kg of ore, at a refinery."""
    return lot(
        REFINED,
        contents={"Co": 0.1},
        inputs=((ORE, 100),),
        quantity_kg=100,
        custody=custody,
        facility=lotgraphs.site("ref", PROCESSING),
    )


def chain(*, refined: TracedLot | None = None, ore_site: Facility | None = None) -> LotGraph:
    lots = [
        # 100 kg at 10 % Co from 100 kg at 10 %, from 100 kg of ore at 30 %: balanced.
        lot(ROOT, contents={"Co": 0.1}, inputs=((REFINED, 100),), quantity_kg=100),
        refined or refinery_lot(),
        lot(ORE, contents={"Co": 0.3}, facility=ore_site),
    ]
    return LotGraph(root=ROOT, lots={item.id: item for item in lots})


def kinds(graph: LotGraph, policy: RiskPolicy | None = None) -> list[RiskKind]:
    risks = assess_risks(graph, attribute(graph), ROLES, policy or RiskPolicy(as_of=DAY))
    return [r.kind for r in risks]


def test_a_refiner_without_any_audit_is_flagged() -> None:
    assert kinds(chain()) == [RiskKind.UNAUDITED_PROCESSOR]


def test_an_expired_audit_is_flagged_with_its_expiry_date() -> None:
    refined = refinery_lot()
    graph = chain(refined=_with_certificates(refined, audit(date(2025, 6, 30))))
    risks = assess_risks(graph, attribute(graph), ROLES, RiskPolicy(as_of=DAY))
    assert [r.kind for r in risks] == [RiskKind.UNAUDITED_PROCESSOR]
    assert "expired on 2025-06-30" in risks[0].evidence


def test_a_valid_third_party_audit_clears_the_refiner() -> None:
    refined = refinery_lot()
    assert kinds(chain(refined=_with_certificates(refined, audit(date(2027, 1, 1))))) == []


def test_a_credential_that_failed_its_check_is_no_audit_and_says_why() -> None:
    refined = refinery_lot()
    # Valid dates (2023-01-01 to 2027-01-01 around 2026-11-26): only the check decides.
    for verification, words in [
        ("FORGED", "does not verify: forged or altered"),
        ("REVOKED", "was revoked by its issuer"),
        ("UNKNOWN_ISSUER", "is not issued by a registered auditor"),
        ("STATUS_UNKNOWN", "has a revocation status that could not be read"),
    ]:
        checked = replace(audit(date(2027, 1, 1)), verification=verification)
        graph = chain(refined=_with_certificates(refined, checked))
        [risk] = assess_risks(graph, attribute(graph), ROLES, RiskPolicy(as_of=DAY))
        assert risk.kind is RiskKind.UNAUDITED_PROCESSOR
        assert f"RMAP audit credential RMAP-1 {words} ({verification})" in risk.evidence
    # VALID, and a plain record (UNVERIFIED, the default), clear the refiner.
    valid = replace(audit(date(2027, 1, 1)), verification="VALID")
    assert kinds(chain(refined=_with_certificates(refined, valid))) == []


def test_a_failed_credential_beside_a_valid_plain_record_leaves_the_record_to_count() -> None:
    refined = refinery_lot()
    forged = replace(audit(date(2027, 1, 1)), verification="FORGED")
    plain = replace(audit(date(2027, 1, 1)), id="RMAP-2")
    assert kinds(chain(refined=_with_certificates(refined, forged, plain))) == []


def test_a_self_issued_or_suspended_audit_does_not_count() -> None:
    refined = refinery_lot()
    own = _with_certificates(refined, audit(date(2027, 1, 1), issuer="ref"))
    suspended = _with_certificates(refined, audit(date(2027, 1, 1), status="SUSPENDED"))
    assert kinds(chain(refined=own)) == [RiskKind.UNAUDITED_PROCESSOR]
    assert kinds(chain(refined=suspended)) == [RiskKind.UNAUDITED_PROCESSOR]


def test_cahra_and_asm_origins_are_flagged_with_their_share() -> None:
    refined = _with_certificates(
        refinery_lot(),
        audit(date(2027, 1, 1)),
    )
    graph = chain(refined=refined, ore_site=site(artisanal=True, cahra=True))
    risks = assess_risks(graph, attribute(graph), ROLES, RiskPolicy(as_of=DAY))
    assert [r.kind for r in risks] == [RiskKind.CAHRA_ORIGIN, RiskKind.ASM_ORIGIN]
    assert all("100.0% of its Co" in r.evidence for r in risks)


def test_a_region_on_the_cahra_list_is_flagged_without_the_owners_flag() -> None:
    refined = _with_certificates(
        refinery_lot(),
        audit(date(2027, 1, 1)),
    )
    graph = chain(refined=refined, ore_site=site())
    listed = RiskPolicy(as_of=DAY, cahra_regions={("CD", "Lualaba")})
    assert kinds(graph, listed) == [RiskKind.CAHRA_ORIGIN]
    assert kinds(graph, RiskPolicy(as_of=DAY, cahra_regions={("CD", "Ituri")})) == []


def test_custody_weaker_than_required_is_flagged() -> None:
    refined = _with_certificates(
        refinery_lot(custody=Custody.BOOK_AND_CLAIM),
        audit(date(2027, 1, 1)),
    )
    graph = chain(refined=refined)
    strict = RiskPolicy(as_of=DAY, required_custody=Custody.MASS_BALANCE)
    assert kinds(graph, strict) == [RiskKind.WEAK_CUSTODY]
    assert kinds(graph, RiskPolicy(as_of=DAY, required_custody=Custody.BOOK_AND_CLAIM)) == []


def test_mass_balance_is_judged_per_element_within_tolerance() -> None:
    # 1,000 kg at 16.5 % Li = 165 kg claimed; 4,050 kg at 2.79 % = 113 kg supplied.
    converter = lot(REFINED, contents={"Li": 0.165}, inputs=((ORE, 4050),), quantity_kg=1000)
    ore = lot(ORE, contents={"Li": 0.0279})
    graph = LotGraph(root=REFINED, lots={REFINED: converter, ORE: ore})
    evidence = mass_balance_shortfall(graph, converter, 0.02)
    assert evidence is not None
    assert "claims 165 kg" in evidence
    assert "at most 113 kg" in evidence
    # 6,000 kg of SC6 supplies 167 kg: within the 2 % tolerance, so no flag.
    honest = lot(REFINED, contents={"Li": 0.165}, inputs=((ORE, 6000),), quantity_kg=1000)
    graph.lots[REFINED] = honest
    assert mass_balance_shortfall(graph, honest, 0.02) is None
    # 5,800 kg supplies 161.8 kg; 165 kg is 2 % over: just outside a 1 % tolerance.
    tight = lot(REFINED, contents={"Li": 0.165}, inputs=((ORE, 5800),), quantity_kg=1000)
    graph.lots[REFINED] = tight
    assert mass_balance_shortfall(graph, tight, 0.01) is not None
    assert mass_balance_shortfall(graph, tight, 0.03) is None


def test_mass_balance_is_not_judged_when_an_input_is_unseen() -> None:
    converter = lot(REFINED, contents={"Li": 0.165}, inputs=((ORE, 10),), quantity_kg=1000)
    graph = LotGraph(root=REFINED, lots={REFINED: converter})
    assert mass_balance_shortfall(graph, converter, 0.02) is None


def test_low_coverage_is_flagged_below_the_threshold() -> None:
    graph = LotGraph(
        root=ROOT,
        lots={
            ROOT: lot(ROOT, contents={"Co": 0.1}, inputs=((ORE, 900), (REFINED, 100))),
            ORE: lot(ORE, contents={"Co": 0.1}),
        },
    )
    # REFINED is unopened: mass fallback gives it 10 %, so coverage is 90 %.
    risks = assess_risks(graph, attribute(graph), ROLES, RiskPolicy(as_of=DAY))
    assert [r.kind for r in risks] == [RiskKind.LOW_COVERAGE]
    assert "90.0%" in risks[0].evidence
    lenient = RiskPolicy(as_of=DAY, min_coverage=0.9)
    assert assess_risks(graph, attribute(graph), ROLES, lenient) == []


def _with_certificates(traced: TracedLot, *certificates: Certificate) -> TracedLot:
    return replace(traced, certificates=certificates)
