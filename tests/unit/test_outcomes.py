"""Defined outcomes on hand-made traces: each state, records that manage a flag, exact unions.

The trace (figures by hand):
    product P, 1,000 kg at 10 % Co = 100 kg Co, consumes
      refiner R (RMAP, valid)   400 kg at 20 % Co =  80 kg  -> 80 % of P's cobalt
      recycler S (ISO 14001)   100 kg at 20 % Co =  20 kg  -> 20 %
    R consumes mine M 200 kg at 30 % (60 kg) and artisanal CAHRA site A 200 kg at 20 %
    (40 kg): M 60 %, A 40 % of R's cobalt, so 48 % and 32 % of P's.
    S consumes black mass B (post-consumer scrap) 100 kg at 20 %: 20 % of P's cobalt.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from oretrail.domain.attribution import attribute
from oretrail.domain.commodities import CommodityProfile, RedFlag, parse_profile
from oretrail.domain.lotgraph import GapReason, LotGraph, TracedLot, Unopened
from oretrail.domain.model import Activity, Certificate
from oretrail.domain.outcomes import OutcomeState, ProfileAssessment, TraceFigures, assess_profile
from oretrail.domain.risk_management import Decision, RiskRecord
from oretrail.domain.risks import RiskPolicy, assess_risks, unchecked
from tests.unit.lotgraphs import EXTRACTION, PROCESSING, lid, lot, site

DAY = date(2026, 5, 1)
P, R, S = lid("oem", "P"), lid("refiner", "R"), lid("recycler", "S")
M, A, B = lid("mine", "M"), lid("asm", "A"), lid("recycler", "B")


def audited(item: TracedLot, standard: str, valid_to: date = date(2027, 1, 1)) -> TracedLot:
    cert = Certificate(
        f"{standard}-1", item.owner, "auditor", standard, "refiner", date(2025, 1, 1), valid_to
    )
    return replace(item, certificates=(cert,), produced_at=DAY)


def primary(item: TracedLot) -> TracedLot:
    """A mined lot that shows its recycled shares: none."""
    return replace(item, recycled_pre_consumer=0.0, recycled_post_consumer=0.0)


def sample_graph(*, withhold_black_mass: bool = False) -> LotGraph:
    lots = [
        lot(P, contents={"Co": 0.1}, inputs=((R, 400), (S, 100)), quantity_kg=1000),
        audited(
            lot(R, contents={"Co": 0.2}, inputs=((M, 200), (A, 200)), quantity_kg=400,
                facility=site("refiner", PROCESSING)),
            "RMAP",
        ),
        audited(
            lot(S, contents={"Co": 0.2}, inputs=((B, 100),), quantity_kg=100,
                facility=site("recycler", PROCESSING)),
            "ISO 14001",
        ),
        primary(lot(M, contents={"Co": 0.3}, quantity_kg=200)),
        primary(lot(A, contents={"Co": 0.2}, quantity_kg=200,
            facility=site("asm", EXTRACTION, country="CD", region="Lualaba", artisanal=True,
                          cahra=True))),
    ]  # fmt: skip
    graph = LotGraph(root=P, lots={item.id: item for item in lots})
    black_mass = replace(
        lot(B, contents={"Co": 0.2}, quantity_kg=100,
            facility=site("recycler", {Activity.SCRAP_COLLECTION})),
        recycled_post_consumer=1.0, recycled_pre_consumer=0.0,
    )  # fmt: skip
    if withhold_black_mass:
        graph.unopened[B] = Unopened(B, "recycler", GapReason.WITHHELD, "withheld")
    else:
        graph.lots[B] = black_mass
    return graph


PROFILE_TOML = {
    "commodity": "cobalt",
    "name": "Cobalt",
    "elements": ["Co"],
    "oecd_annex_ii": ["SERIOUS_ABUSES"],
    "eu_annex_x": ["WATER"],
    "recognised_audits": ["RMAP"],
    "red_flags": ["CAHRA_ORIGIN", "ASM_ORIGIN", "UNRECOGNISED_AUDIT"],
    "outcomes": [
        {"id": "cov", "kind": "COVERAGE", "threshold": 0.9, "statement": "coverage"},
        {"id": "aud", "kind": "AUDITED_PROCESSORS", "threshold": 0.95, "statement": "audits"},
        {"id": "red", "kind": "RED_FLAGS_MANAGED", "threshold": 0.0, "statement": "flags"},
        {"id": "rec", "kind": "RECYCLED_CONTENT", "threshold": 0.16, "statement": "recycled"},
    ],
}


def profile(**changes: object) -> CommodityProfile:
    return parse_profile({**PROFILE_TOML, **changes}, "test-profile.toml")


def record(flag: str, lot_id: str, decision: Decision = Decision.MITIGATE) -> RiskRecord:
    return RiskRecord(
        f"rec-{flag}", "oem", flag, lot_id, decision, "plan: site visits by an auditor",
        DAY, date(2026, 9, 1), datetime(2026, 5, 2, tzinfo=UTC), "token",
    )  # fmt: skip


def assess(
    graph: LotGraph, records: tuple[RiskRecord, ...] = (), chosen: CommodityProfile | None = None
) -> ProfileAssessment:
    attribution = attribute(graph)
    policy = RiskPolicy(as_of=DAY)
    risks = assess_risks(graph, attribution, {}, policy)
    figures = TraceFigures(graph, attribution, risks, {}, unchecked(graph, {}, policy), 0.02, DAY)
    result = assess_profile(chosen or profile(), figures, records)
    assert result is not None
    return result


def by_id(result: ProfileAssessment) -> dict[str, tuple[object, ...]]:
    return {o.outcome.id: (o.state, o.figure, o.unknown) for o in result.outcomes}


def test_a_fully_traced_product_meets_some_outcomes_and_not_others() -> None:
    outcomes = by_id(assess(sample_graph()))
    assert outcomes["cov"] == (OutcomeState.MET, pytest.approx(1.0), 0.0)
    # Only R's 80 % passed a recognised audit; S holds ISO 14001 only.
    assert outcomes["aud"] == (OutcomeState.NOT_MET, pytest.approx(0.8), pytest.approx(0.0))
    # A (artisanal, in a CAHRA) gives 32 % without a record.
    assert outcomes["red"] == (OutcomeState.NOT_MET, pytest.approx(0.32), pytest.approx(0.0))
    # B's post-consumer scrap is 20 %, above 16 %.
    assert outcomes["rec"] == (OutcomeState.MET, pytest.approx(0.2), pytest.approx(0.0))


def test_records_for_every_flag_at_a_lot_meet_the_outcome_and_the_flags_stay_listed() -> None:
    only_one = assess(sample_graph(), (record("ASM_ORIGIN", A),))
    # The CAHRA flag on A is still unmanaged: 32 % remains.
    assert by_id(only_one)["red"][:2] == (OutcomeState.NOT_MET, pytest.approx(0.32))
    both = assess(sample_graph(), (record("ASM_ORIGIN", A), record("CAHRA_ORIGIN", A)))
    assert by_id(both)["red"] == (OutcomeState.MET, 0.0, pytest.approx(0.0))
    flags = {(f.flag, f.lot): f for f in both.findings}
    assert flags[(RedFlag.ASM_ORIGIN, A)].shares["Co"] == pytest.approx(0.32)
    assert [r.id for r in flags[(RedFlag.CAHRA_ORIGIN, A)].records] == ["rec-CAHRA_ORIGIN"]
    assert flags[(RedFlag.UNRECOGNISED_AUDIT, S)].records == ()
    # A record on the audit flag does not make the recycler audited.
    audit_record = assess(sample_graph(), (record("UNRECOGNISED_AUDIT", S, Decision.ACCEPT),))
    assert by_id(audit_record)["aud"][:2] == (OutcomeState.NOT_MET, pytest.approx(0.8))


def test_a_gap_makes_what_it_could_hide_unknown() -> None:
    # B withheld: 20 % of the cobalt is a gap. Coverage 80 % < 90 %: not met.
    outcomes = by_id(
        assess(
            sample_graph(withhold_black_mass=True),
            (record("ASM_ORIGIN", A), record("CAHRA_ORIGIN", A)),
        )
    )
    assert outcomes["cov"] == (OutcomeState.NOT_MET, pytest.approx(0.8), 0.0)
    # No unmanaged flag seen, but the 20 % gap may hide a CAHRA or artisanal origin.
    assert outcomes["red"] == (OutcomeState.UNKNOWN, 0.0, pytest.approx(0.2))
    # 0 % recycled seen; the 20 % gap could hold the 16 %.
    assert outcomes["rec"] == (OutcomeState.UNKNOWN, 0.0, pytest.approx(0.2))
    # S is still unaudited, and its share is behind it whatever lies beyond.
    assert outcomes["aud"][:2] == (OutcomeState.NOT_MET, pytest.approx(0.8))


def test_an_unknown_share_too_small_to_change_the_verdict_does_not_make_it_unknown() -> None:
    # Recycled at least 25 %: 0 % seen + 20 % hidden < 25 %: not met whatever the gap holds.
    chosen = profile(
        outcomes=[{"id": "rec", "kind": "RECYCLED_CONTENT", "threshold": 0.25, "statement": "r"}]
    )
    result = assess(sample_graph(withhold_black_mass=True), chosen=chosen)
    assert by_id(result)["rec"] == (OutcomeState.NOT_MET, 0.0, pytest.approx(0.2))


def test_an_expired_audit_is_not_recognised_and_the_union_behind_two_processors_counts_once() -> (
    None
):
    # R's RMAP ran out before its production: R and S both unaudited, 100 % behind them.
    graph = sample_graph()
    graph.lots[R] = audited(graph.lots[R], "RMAP", valid_to=date(2026, 1, 31))
    result = assess(graph)
    assert by_id(result)["aud"] == (OutcomeState.NOT_MET, 0.0, pytest.approx(0.0))
    [status] = [a for a in result.audits if a.lot == R]
    assert not status.recognised
    assert "valid 2025-01-01 to 2026-01-31, not on the production date 2026-05-01" in status.detail
    [aud] = [o for o in result.outcomes if o.outcome.id == "aud"]
    assert aud.concerned == pytest.approx(1.0)  # 80 % + 20 %, each counted once


def test_a_recognised_audit_is_reported_as_a_plain_record() -> None:
    [status] = [a for a in assess(sample_graph()).audits if a.lot == R]
    assert (status.recognised, status.standard, status.verification) == (
        True,
        "RMAP",
        "PLAIN_RECORD",
    )
    assert "not a verified credential" in status.detail


def test_a_profile_whose_elements_the_trace_does_not_hold_does_not_apply() -> None:
    graph = sample_graph()
    attribution = attribute(graph)
    figures = TraceFigures(graph, attribution, [], {})
    assert assess_profile(profile(elements=["Cu"]), figures) is None


@pytest.mark.parametrize("failed", ["REVOKED", "FORGED", "EXPIRED", "STATUS_UNKNOWN"])
def test_an_audit_whose_credential_failed_its_check_is_not_recognised(failed: str) -> None:
    graph = sample_graph()
    refiner = graph.lots[R]
    graph.lots[R] = replace(
        refiner, certificates=(replace(refiner.certificates[0], verification=failed),)
    )
    [status] = [a for a in assess(graph).audits if a.lot == R]
    assert (status.recognised, status.verification) == (False, failed)
    assert f"its audit credential failed ({failed})" in status.detail


def test_a_verified_credential_is_reported_as_one() -> None:
    graph = sample_graph()
    refiner = graph.lots[R]
    graph.lots[R] = replace(
        refiner, certificates=(replace(refiner.certificates[0], verification="VALID"),)
    )
    [status] = [a for a in assess(graph).audits if a.lot == R]
    assert (status.recognised, status.verification) == (True, "VERIFIED_CREDENTIAL")
    assert "an audit credential, verified" in status.detail


def test_a_plain_record_beside_a_failed_credential_does_not_count() -> None:
    graph = sample_graph()
    refiner = graph.lots[R]
    plain = refiner.certificates[0]
    revoked = replace(plain, id="RMAP-2", verification="REVOKED")
    graph.lots[R] = replace(refiner, certificates=(plain, revoked))
    [status] = [a for a in assess(graph).audits if a.lot == R]
    assert (status.recognised, status.certificate, status.verification) == (
        False,
        "RMAP-2",
        "REVOKED",
    )
