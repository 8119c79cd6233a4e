"""The expected recovery of the open failed invoices and its interval, checked by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from analytics.forecast import forecast_compute
from dunning.models import Invoice
from dunning.sync.mirror.failures import failure_summary_refresh
from tests.analytics.forecast_data import decide, hard_decline_history, three_open_invoices
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db

# By hand: p = 0.8, 0.5 and 0.25 (the hard declines' rate at that age: 1 of 4 recovered;
# one category only, so smoothing toward the all-categories rate changes nothing).
EXPECTED = 0.8 * 10_000 + 0.5 * 20_000 + 0.25 * 5_000  # 19,250 cents
VARIANCE = 0.8 * 0.2 * 10_000**2 + 0.5 * 0.5 * 20_000**2 + 0.25 * 0.75 * 5_000**2


def test_expected_recovery_and_interval_of_a_known_set_of_open_invoices():
    hard_decline_history()
    three_open_invoices()

    usd = forecast_compute().currencies["USD"].total

    assert usd.invoices == 3 and usd.at_stake == 35_000
    assert usd.expected == pytest.approx(EXPECTED)  # USD 192.50
    assert usd.variance == pytest.approx(VARIANCE)
    spread = 1.2816 * math.sqrt(VARIANCE)  # about 14,079 cents
    assert (usd.low, usd.high) == pytest.approx((EXPECTED - spread, EXPECTED + spread))
    # The 95% interval is wider than what can happen: kept within 0 .. the amount at stake.
    assert (usd.low95, usd.high95) == (0.0, 35_000.0)
    assert usd.fallback == 1


def test_the_breakdowns_add_up_to_the_total_by_segment_and_category():
    hard_decline_history()
    three_open_invoices()

    usd = forecast_compute().currencies["USD"]

    assert {k: v.expected for k, v in usd.by_segment.items()} == pytest.approx(
        {"growth": 10_000, "self_serve": 8_000 + 1_250}
    )
    assert {k: (v.invoices, v.fallback) for k, v in usd.by_category.items()} == {
        "soft_decline": (2, 0),
        "hard_decline": (1, 1),
    }


def test_a_paid_invoice_leaves_the_forecast():
    hard_decline_history()
    one, _, _ = three_open_invoices()

    Invoice.objects.filter(pk=one.pk).update(
        status="paid",
        dunning_status="",
        amount_paid=10_000,
        amount_due=0,
        paid_at=days_ago(0.1),
    )
    failure_summary_refresh(invoice_ids=[one.cb_id])

    usd = forecast_compute().currencies["USD"].total
    assert usd.invoices == 2 and usd.at_stake == 25_000
    assert usd.expected == pytest.approx(EXPECTED - 8_000)


def test_currencies_are_never_added_together():
    three_open_invoices()
    euro = failed_invoice(9, failed_at=days_ago(1), amount=7_000, currency="EUR")
    decide(euro, score=0.6)

    forecast = forecast_compute()

    assert list(forecast.currencies) == ["USD", "EUR"]  # largest at stake first
    assert forecast.currencies["EUR"].total.expected == pytest.approx(4_200)


def test_an_older_open_invoice_without_a_decision_takes_the_rate_of_its_age():
    """Of the 4 hard declines, the recovered one paid on day 5: still unpaid on day 7, none is
    recovered, so a 10-day-old hard decline gets 0, a 2-day-old one 25%."""
    hard_decline_history()
    failed_invoice(1, failed_at=days_ago(10), amount=4_000, category="hard_decline")
    failed_invoice(2, failed_at=days_ago(2), amount=4_000, category="hard_decline")

    usd = forecast_compute().currencies["USD"]

    assert usd.total.expected == pytest.approx(0.25 * 4_000)
    assert usd.total.fallback == 2


def test_a_forecast_for_a_past_day_uses_what_was_known_that_day():
    """Ten days ago invoice 1 (failed 12 days ago, paid 4 days ago) was open; invoice 2 had
    not failed yet; the decision made 1 day ago did not exist."""
    hard_decline_history()
    paid = failed_invoice(
        1,
        failed_at=days_ago(12),
        amount=8_000,
        category="hard_decline",
        paid_after=timedelta(days=8),
    )
    later = failed_invoice(2, failed_at=days_ago(3), amount=6_000)
    decide(paid, score=0.9)
    decide(later, score=0.9)

    past = forecast_compute(as_of=days_ago(10))

    usd = past.currencies["USD"].total
    assert usd.invoices == 1 and usd.at_stake == 8_000
    assert usd.fallback == 1
    assert usd.expected == pytest.approx(0.25 * 8_000)  # hard declines, 2 days old then
