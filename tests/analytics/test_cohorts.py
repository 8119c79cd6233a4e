"""Cohorts: cumulative recovery by days since the first failure, per failure or signup month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.cohorts import DAYS, cohort_recovery
from analytics.filters import filters_parse
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db


def month_start(days_back: int) -> datetime:
    day = days_ago(days_back)
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def shares(table, cohort: str) -> dict[int, float | None]:
    row = next(r for r in table.rows if r[0] == cohort)
    return dict(zip(DAYS, row[2:]))


def test_a_small_cohort_matches_the_hand_computed_rates():
    start = month_start(150) + timedelta(days=2)
    failed_invoice(1, failed_at=start, paid_after=timedelta(hours=12))
    failed_invoice(2, failed_at=start, paid_after=timedelta(days=2, hours=1))
    failed_invoice(3, failed_at=start + timedelta(days=1), paid_after=timedelta(days=10))
    failed_invoice(4, failed_at=start + timedelta(days=1), ended="not_paid")

    table = cohort_recovery(filters=filters_parse(params={"period": "365"}), by="failure")

    cohort = start.strftime("%Y-%m")
    assert table.rows[0][:2] == [cohort, 4]
    # 1 of 4 within a day; 2 of 4 by day 2; 3 of 4 from day 10 on; never more.
    assert shares(table, cohort) == {
        0: 25.0,
        1: 25.0,
        2: 50.0,
        3: 50.0,
        5: 50.0,
        7: 50.0,
        10: 75.0,
        14: 75.0,
        21: 75.0,
        28: 75.0,
        45: 75.0,
        60: 75.0,
        90: 75.0,
    }


def test_every_row_only_rises_and_young_cohorts_stay_blank_where_not_yet_seen():
    for n in range(12):
        failed_invoice(
            n,
            failed_at=days_ago(3.5 + 25 * n),
            paid_after=timedelta(days=(n * 7) % 40) if n % 3 else None,
        )

    table = cohort_recovery(filters=filters_parse(params={"period": "365"}), by="failure")

    for row in table.rows:
        seen = [value for value in row[2:] if value is not None]
        assert seen == sorted(seen), row
        blanks = row[2 + len(seen) :]
        assert all(value is None for value in blanks)  # blanks only at the young end
    newest = table.rows[-1]
    assert shares(table, newest[0])[2] is not None  # 3.5 days old: days 0-2 observed
    assert shares(table, newest[0])[3] is None


def test_cohorts_by_signup_month_group_customers_by_when_they_joined():
    failed_invoice(
        1,
        failed_at=days_ago(100),
        signed_up=datetime(2025, 3, 5, tzinfo=UTC),
        paid_after=timedelta(days=1),
    )
    failed_invoice(2, failed_at=days_ago(100), signed_up=datetime(2025, 3, 20, tzinfo=UTC))
    failed_invoice(3, failed_at=days_ago(100), signed_up=datetime(2025, 7, 1, tzinfo=UTC))

    table = cohort_recovery(filters=filters_parse(params={"period": "365"}), by="signup")

    assert [row[:2] for row in table.rows] == [["2025-03", 2], ["2025-07", 1]]
    assert shares(table, "2025-03")[1] == 50.0
