"""Subscriptions renewing soon, written straight into the mirror with their risk factors."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from dunning.models import (
    Customer,
    Invoice,
    InvoiceFailure,
    PaymentSource,
    Subscription,
    UsageMonth,
)


def month_before(at: datetime) -> tuple[int, int]:
    """(month, year) of the month before ``at``'s month."""
    first = at.replace(day=1)
    earlier = first - timedelta(days=1)
    return earlier.month, earlier.year


def renewing(
    n: int | str,
    *,
    in_days: float = 10,
    expiry: tuple[int, int] | None = (12, 2099),  # (month, year); None: no card at all
    failures: int = 0,
    sessions: dict[int, int] | None = None,  # months ago -> sessions that month
    unit: str = "month",
    first_name: str = "",
    now: datetime | None = None,
) -> Subscription:
    now = now or timezone.now()
    card_id = f"pm_r{n}" if expiry else ""
    customer = Customer.objects.create(
        cb_id=f"cus_r{n}",
        resource_version=1,
        first_name=first_name or f"Cust{n}",
        email=f"c{n}@x.test",
        country="DE",
        primary_payment_source_id=card_id,
    )
    if expiry:
        PaymentSource.objects.create(
            cb_id=card_id,
            customer=customer,
            resource_version=1,
            type="card",
            card_brand="visa",
            card_last4="4242",
            card_expiry_month=expiry[0],
            card_expiry_year=expiry[1],
        )
    subscription = Subscription.objects.create(
        cb_id=f"sub_r{n}",
        customer=customer,
        status="active",
        plan_id="pro-USD-monthly",
        billing_period_unit=unit,
        currency_code="USD",
        mrr=4900,
        resource_version=1,
        next_billing_at=now + timedelta(days=in_days),
    )
    Invoice.objects.create(
        cb_id=f"inv_r{n}",
        customer=customer,
        subscription=subscription,
        status="paid",
        total=4900,
        amount_paid=4900,
        currency_code="USD",
        date=now - timedelta(days=20),
        paid_at=now - timedelta(days=20),
        resource_version=1,
    )
    for i in range(failures):
        InvoiceFailure.objects.create(
            invoice_cb_id=f"inv_r{n}_f{i}",
            customer_cb_id=customer.cb_id,
            subscription_cb_id=subscription.cb_id,
            first_failure_cb_id=f"txn_r{n}_f{i}",
            first_failed_at=now - timedelta(days=40 * (i + 1)),
            currency_code="USD",
            amount=4900,
            refreshed_at=now,
        )
    for months_ago, count in (sessions or {}).items():
        UsageMonth.objects.create(
            customer_cb_id=customer.cb_id,
            month_start=now - timedelta(days=30 * months_ago),
            sessions=count,
        )
    return subscription
