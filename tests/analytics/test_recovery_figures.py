"""What a manager reads on the recovery dashboard, from mirror rows written directly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.filters import filters_parse
from analytics.recovery import main_currency, recovery_summary
from analytics.recovery_breakdowns import recovery_by, recovery_by_path, time_to_recovery
from dunning.models import Action, ActionKind, ActionState, Decision
from tests.analytics.mirror import cancelled_subscription, days_ago, failed_invoice

pytestmark = pytest.mark.django_db


def filters(**params):
    parsed = filters_parse(params=params)
    return parsed.with_currency(main_currency(filters=parsed))


def test_recovered_revenue_counts_only_invoices_paid_by_a_payment_after_failing():
    failed_invoice(1, failed_at=days_ago(20), amount=10_000, paid_after=timedelta(days=2))
    failed_invoice(2, failed_at=days_ago(20), amount=5_000, ended="write_off")
    failed_invoice(3, failed_at=days_ago(20), amount=3_000, ended="void")
    failed_invoice(4, failed_at=days_ago(10), amount=2_000)  # still in dunning

    summary = recovery_summary(filters=filters())

    assert summary["failed"] == 4
    assert summary["failed_amount"] == 200.00
    assert summary["recovered"] == 1
    assert summary["recovered_amount"] == 100.00
    assert summary["recovery_rate"] == 50.0
    assert summary["in_dunning"] == 1
    assert summary["in_dunning_amount"] == 20.00


def test_an_invoice_with_several_declines_counts_once_at_its_first_failure():
    failed_invoice(1, failed_at=days_ago(40), retries_failed=3, paid_after=timedelta(days=5))

    last_30 = recovery_summary(filters=filters(period="30"))
    last_90 = recovery_summary(filters=filters(period="90"))

    assert last_30["failed"] == 0  # its retries are recent, its first failure is not
    assert (last_90["failed"], last_90["recovered"], last_90["failed_amount"]) == (1, 1, 100.0)


def test_the_period_filter_leaves_out_older_failures():
    failed_invoice(1, failed_at=days_ago(5), paid_after=timedelta(days=1))
    failed_invoice(2, failed_at=days_ago(60), paid_after=timedelta(days=1))
    failed_invoice(3, failed_at=days_ago(200), paid_after=timedelta(days=1))

    counts = {p: recovery_summary(filters=filters(period=p))["failed"] for p in ("30", "90", "365")}

    assert counts == {"30": 1, "90": 2, "365": 3}
    custom = filters(
        period="custom",
        **{"from": days_ago(70).date().isoformat(), "to": days_ago(50).date().isoformat()},
    )
    assert recovery_summary(filters=custom)["failed"] == 1


def test_currencies_are_never_added_together():
    failed_invoice(1, failed_at=days_ago(3), amount=90_000, currency="EUR")
    failed_invoice(
        2, failed_at=days_ago(3), amount=10_000, currency="USD", paid_after=timedelta(hours=3)
    )

    default = recovery_summary(filters=filters())
    usd = recovery_summary(filters=filters(currency="usd"))

    assert (default["currency"], default["failed_amount"], default["recovered_amount"]) == (
        "EUR",
        900.0,
        0,
    )  # the largest currency by default, and only it
    assert (usd["currency"], usd["failed_amount"], usd["recovered_amount"]) == ("USD", 100.0, 100.0)


def test_recovery_by_gateway_and_decline_category():
    failed_invoice(1, failed_at=days_ago(3), gateway="stripe", paid_after=timedelta(days=1))
    failed_invoice(2, failed_at=days_ago(3), gateway="stripe")
    failed_invoice(3, failed_at=days_ago(3), gateway="adyen", category="hard_decline")

    by_gateway = recovery_by(filters=filters(), dimension="gateway")
    by_category = recovery_by(filters=filters(), dimension="decline_category")

    assert by_gateway.columns == [
        "gateway",
        "failed invoices",
        "failed revenue",
        "recovered revenue",
        "rate %",
    ]
    assert by_gateway.rows == [["Stripe", 2, 200.0, 100.0, 50.0], ["Adyen", 1, 100.0, 0, 0.0]]
    assert by_category.rows[0][:2] == ["Soft decline", 2]


def test_segment_filters_narrow_every_figure():
    failed_invoice(1, failed_at=days_ago(3), plan="pro-monthly", country="DE")
    failed_invoice(2, failed_at=days_ago(3), plan="basic-monthly", country="FR")

    assert recovery_summary(filters=filters(plan="basic-monthly"))["failed"] == 1
    assert recovery_summary(filters=filters(country="fr"))["failed"] == 1
    assert recovery_summary(filters=filters(gateway="adyen"))["failed"] == 0


def test_time_to_recovery_falls_in_day_bands():
    failed_invoice(1, failed_at=days_ago(40), paid_after=timedelta(hours=5))
    failed_invoice(2, failed_at=days_ago(40), paid_after=timedelta(days=4, hours=1))
    failed_invoice(3, failed_at=days_ago(40), paid_after=timedelta(days=30))

    table = time_to_recovery(filters=filters())

    counts = dict(table.rows)
    assert counts["0"] == 1 and counts["3-4"] == 1 and counts["28-59"] == 1
    assert sum(counts.values()) == 3


def test_recoveries_with_no_message_are_split_by_how_the_invoice_was_paid():
    failed_invoice(1, failed_at=days_ago(9), paid_after=timedelta(days=1), new_card=True)
    failed_invoice(2, failed_at=days_ago(9), paid_after=timedelta(days=2))
    invoice = failed_invoice(3, failed_at=days_ago(9), paid_after=timedelta(days=3))
    decision = Decision.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        trigger="payment_failed",
        as_of=days_ago(9),
        model_version="test",
        segment="self_serve",
        mode="auto",
        reasoning="retry on payday",
    )
    Action.objects.create(
        decision=decision,
        invoice=invoice,
        customer=invoice.customer,
        kind=ActionKind.RETRY,
        mode="auto",
        state=ActionState.EXECUTED,
        state_changed_at=days_ago(6),
    )

    table = recovery_by_path(filters=filters())

    assert {row[0]: row[1] for row in table.rows if row[1]} == {
        "Customer's own new payment method": 1,
        "Dunwell retry": 1,
        "Chargebee's own retry": 1,
    }
    assert "No delivery, open or click has been reported" in table.note


def test_involuntary_churn_counts_cancellations_for_non_payment_only():
    cancelled_subscription(1, at=days_ago(3), reason="not_paid")
    cancelled_subscription(2, at=days_ago(3), reason="")
    cancelled_subscription(3, at=days_ago(100), reason="not_paid")

    summary = recovery_summary(filters=filters(currency="USD"))

    assert (summary["involuntary_churn"], summary["cancellations"]) == (1, 2)
