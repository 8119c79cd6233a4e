"""The shadow comparison: Dunwell's proposals beside Chargebee's attempts and the outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.shadow import shadow_by_segment, shadow_recent
from dunning.models import Transaction
from tests.analytics.mirror import days_ago, failed_invoice
from tests.factories import ActionFactory, DecisionFactory

pytestmark = pytest.mark.django_db


def shadow_decision(
    n,
    *,
    failed_days_ago=40,
    paid_after=None,
    score=0.5,
    retry_in=None,
    chargebee_retry_in=None,
    segment="self_serve",
    mode="shadow",
    **extra,
):
    """Invoice ``inv_<n>`` failed, Dunwell decided in shadow mode at the failure."""
    failed_at = days_ago(failed_days_ago)
    invoice = failed_invoice(n, failed_at=failed_at, paid_after=paid_after)
    decision = DecisionFactory(
        invoice=invoice, as_of=failed_at, recovery_score=score, segment=segment, mode=mode, **extra
    )
    if retry_in is not None:
        ActionFactory(decision=decision, kind="retry", scheduled_for=failed_at + retry_in)
    if chargebee_retry_in is not None:
        Transaction.objects.create(
            cb_id=f"txn_{n}_cb",
            customer_id=invoice.customer_id,
            invoice=invoice,
            type="payment",
            status="failure",
            date=failed_at + chargebee_retry_in,
            resource_version=1,
        )
    return decision


def test_shadow_comparison_counts_recoveries_predictions_and_slot_agreement():
    day = timedelta(days=1)
    # Chargebee's retry landed 2 h from Dunwell's slot; paid two days later.
    shadow_decision(
        1, paid_after=3 * day, score=0.8, retry_in=day, chargebee_retry_in=day + timedelta(hours=2)
    )
    # Landed a day early: not near; never paid.
    shadow_decision(2, score=0.4, retry_in=3 * day, chargebee_retry_in=2 * day)
    # Not near either, but paid (by the customer) after five days.
    shadow_decision(3, paid_after=5 * day, score=0.6, retry_in=4 * day, chargebee_retry_in=day)
    # Paid after the 28-day window: not recovered *within* it.
    shadow_decision(4, paid_after=30 * day, score=0.2)
    # Decided 5 days ago, nothing yet: awaiting its outcome, not in the rates.
    shadow_decision(5, failed_days_ago=5, score=0.9)
    # Enterprise, and a second (later) decision about invoice 1 that is no new invoice.
    shadow_decision(6, segment="enterprise", score=0.5, paid_after=day)
    DecisionFactory(
        invoice_id="inv_1",
        customer_id="cus_1",
        as_of=days_ago(39),
        recovery_score=0.1,
        mode="shadow",
    )
    # Not shadow: left out.
    shadow_decision(7, mode="auto", paid_after=day)

    figures = shadow_by_segment(since=days_ago(90), until=days_ago(0))

    s = figures["self_serve"]
    assert (s.decisions, s.invoices, s.settled, s.awaiting) == (6, 5, 4, 1)
    assert (s.recovered, s.observed_rate) == (2, 50.0)
    assert s.predicted_rate == 50.0  # (0.8 + 0.4 + 0.6 + 0.2) / 4
    assert s.calibration_gap == 0.0
    assert (s.compared, s.near, s.near_rate, s.far_rate) == (3, 1, 100.0, 50.0)
    # Attempts after the decision within the window: 1: retry + payment; 2: retry;
    # 3: retry + payment; 4: none (paid after the window).
    assert (s.chargebee_attempts, s.dunwell_retries) == (5, 3)
    assert figures["enterprise"].recovered == 1
    assert figures[""].invoices == 6 and figures[""].decisions == 7
    assert "growth" not in figures


def test_recent_rows_say_what_each_side_did():
    shadow_decision(
        1,
        paid_after=timedelta(days=3),
        retry_in=timedelta(days=1),
        chargebee_retry_in=timedelta(days=1, hours=2),
    )

    (row,) = shadow_recent(since=days_ago(90), until=days_ago(0))

    assert row["invoice_id"] == "inv_1"
    assert row["near_flag"] and row["recovered_flag"] and row["settled_flag"]
    assert row["chargebee_attempts"] == 2


def test_shadow_evidence_counts_the_retries_auto_would_have_run_not_every_daily_proposal():
    day = timedelta(days=1)
    first = shadow_decision(1, retry_in=1.5 * day)  # superseded by the next day's decision
    failed_at = first.as_of
    for k, retry_in in ((1, 1.5 * day), (2, 0.2 * day), (3, day)):
        # Daily reviews: day 1's retry is superseded too; days 2 and 3 run before the next.
        review = DecisionFactory(
            invoice=first.invoice, as_of=failed_at + k * day, mode="shadow", trigger="open_invoice"
        )
        ActionFactory(decision=review, kind="retry", scheduled_for=review.as_of + retry_in)

    figures = shadow_by_segment(since=days_ago(90), until=days_ago(0))

    assert figures["self_serve"].decisions == 4
    assert figures["self_serve"].dunwell_retries == 2
