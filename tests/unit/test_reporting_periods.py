"""Reporting periods: a transparency request names the last second of a closed one."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from oretrail.auth import declarations
from oretrail.domain import transparency
from oretrail.domain.transparency import (
    closed_period_ending,
    last_closed_period,
    period_containing,
)

NOW = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "kind", "start", "end"),
    [
        (date(2026, 5, 18), "quarter", date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 12, 31), "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        (date(2024, 2, 10), "month", date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        (date(2026, 7, 1), "year", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_the_period_holding_a_day(day: date, kind: str, start: date, end: date) -> None:
    period = period_containing(day, kind)
    assert (period.start, period.end) == (start, end)
    assert period.label == f"{start.isoformat()}/{end.isoformat()}"


def test_the_end_of_a_closed_quarter_is_accepted() -> None:
    period = closed_period_ending(datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC), "quarter", NOW)
    assert not isinstance(period, str)
    assert period.label == "2026-07-01/2026-09-30"
    assert last_closed_period(NOW) == period


@pytest.mark.parametrize(
    ("as_of", "why"),
    [
        (datetime(2026, 9, 30, 12, 0, tzinfo=UTC), "not the end of a reporting period"),
        (datetime(2026, 8, 31, 23, 59, 59, tzinfo=UTC), "not the end of a reporting period"),
        (datetime(2026, 10, 1, 0, 0, tzinfo=UTC), "not the end of a reporting period"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "not closed yet"),  # the open quarter
        (datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC), "not closed yet"),
    ],
)
def test_any_other_as_of_is_refused(as_of: datetime, why: str) -> None:
    refusal = closed_period_ending(as_of, "quarter", NOW)
    assert isinstance(refusal, str)
    assert why in refusal


def test_a_month_end_is_a_period_end_only_for_monthly_queries() -> None:
    as_of = datetime(2026, 8, 31, 23, 59, 59, tzinfo=UTC)
    assert not isinstance(closed_period_ending(as_of, "month", NOW), str)
    assert isinstance(closed_period_ending(as_of, "quarter", NOW), str)


def test_nodes_and_the_domain_know_the_same_period_kinds() -> None:
    assert declarations.PERIOD_KINDS == transparency.PERIOD_KINDS
