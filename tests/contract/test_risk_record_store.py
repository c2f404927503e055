"""Risk-management records in the model store: every adapter, Neo4j included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from oretrail.domain.risk_management import Decision, RiskRecord
from oretrail.store.cypher import CypherRunner
from oretrail.store.model_memory import MemoryModelStore
from oretrail.store.model_neo4j import Neo4jModelStore
from oretrail.store.model_port import ModelStore

Open = Callable[[], ModelStore]
ASM = "urn:oretrail:lot:asm:HG-1"


@pytest.fixture
def open_store(adapter: str, data_dir: Path, request: pytest.FixtureRequest) -> Open:
    """Opens the adapter over the same backing data each time it is called."""
    if adapter == "memory":
        return lambda: MemoryModelStore(data_dir)
    runner: CypherRunner = request.getfixturevalue("runner")
    return lambda: Neo4jModelStore(runner)


def record(record_id: str, org: str, review_by: date | None = date(2026, 12, 31)) -> RiskRecord:
    return RiskRecord(
        id=record_id,
        org=org,
        flag="ASM_ORIGIN",
        lot=ASM,
        decision=Decision.MITIGATE,
        rationale="Plan: CRAFT code assessment of the site by Q1; 'quotes' & <tags> kept",
        decided_on=date(2026, 11, 28),
        review_by=review_by,
        signed_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC),
        token="eyJ.signed.token",  # noqa: S106 - a stand-in for the signed JWS, not a secret
    )


async def test_records_are_kept_per_organisation_and_survive_a_reopen(open_store: Open) -> None:
    store = open_store()
    await store.record_risk_decision(record("r-1", "oem"))
    await store.record_risk_decision(record("r-2", "rival", review_by=None))
    reopened = open_store()
    assert await reopened.risk_records(org="oem") == [record("r-1", "oem")]
    assert await reopened.risk_records(org="rival") == [record("r-2", "rival", review_by=None)]
    assert await reopened.risk_records(org="nobody") == []


async def test_the_same_record_kept_twice_is_kept_once_and_never_changed(open_store: Open) -> None:
    store = open_store()
    first = record("r-1", "oem")
    await store.record_risk_decision(first)
    await store.record_risk_decision(record("r-1", "oem", review_by=date(2030, 1, 1)))
    await store.record_risk_decision(record("r-0", "oem"))
    # Signed at the same time: by id.
    assert [r.id for r in await store.risk_records(org="oem")] == ["r-0", "r-1"]
    assert (await store.risk_records(org="oem"))[1] == first
