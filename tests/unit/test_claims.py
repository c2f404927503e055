"""The claim ledger: claims replace per consuming lot, and never pass what was shipped."""

from __future__ import annotations

from pathlib import Path

from oretrail.auth.claims import ClaimLedger

X = "urn:oretrail:lot:boreal-cobalt:S1"


def test_a_repeated_claim_replaces_and_never_adds() -> None:
    ledger = ClaimLedger()
    for _ in range(3):
        assert ledger.claim(X, "helios", "C1", 600.0, 1_000.0).accepted
    assert ledger.claimed(X, "helios") == 600.0


def test_claims_of_distinct_consuming_lots_add_up_to_the_shipped_limit() -> None:
    ledger = ClaimLedger()
    assert ledger.claim(X, "helios", "C1", 600.0, 1_000.0).accepted
    # 600 + 500 = 1,100 kg > 1,000 kg shipped: refused, and X is flagged.
    outcome = ledger.claim(X, "helios", "C2", 500.0, 1_000.0)
    assert not outcome.accepted
    assert outcome.over_claimed
    assert outcome.claimed_kg == 1_100.0
    assert ledger.is_over_claimed(X)
    # No new claim after that, even a small one; the accepted one is still honoured.
    assert not ledger.claim(X, "helios", "C3", 1.0, 1_000.0).accepted
    assert ledger.claim(X, "helios", "C1", 600.0, 1_000.0).accepted


def test_a_larger_claim_for_the_same_lot_replaces_within_the_limit() -> None:
    ledger = ClaimLedger()
    assert ledger.claim(X, "helios", "C1", 600.0, 1_000.0).accepted
    assert ledger.claim(X, "helios", "C1", 900.0, 1_000.0).accepted
    assert ledger.claimed(X, "helios") == 900.0


def test_the_ledger_and_kept_grants_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "claims.jsonl"
    ledger = ClaimLedger(path)
    ledger.keep_grant("h1", "grant-1")
    ledger.claim(X, "helios", "C1", 600.0, 1_000.0)
    ledger.claim(X, "helios", "C2", 500.0, 1_000.0)
    ledger.flush()
    again = ClaimLedger(path)
    assert again.claimed(X, "helios") == 600.0
    assert again.is_over_claimed(X)
    assert '"grant":"grant-1"' in path.read_text()
