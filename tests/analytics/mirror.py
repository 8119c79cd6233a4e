"""Failed invoices written straight into the mirror, as processing would leave them
(with their rows of the failure summary and of the first payment attempts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from dunning.models import Customer, Invoice, PaymentSource, Subscription, Transaction
from dunning.sync.mirror.failures import failure_summary_refresh


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def failed_invoice(
    n: int,
    *,
    failed_at: datetime,
    amount: int = 10_000,
    currency: str = "USD",
    paid_after: timedelta | None = None,
    ended: str = "",  # "", "write_off", "void", "not_paid": how an unpaid invoice ended
    retries_failed: int = 0,
    new_card: bool = False,
    gateway: str = "stripe",
    category: str = "soft_decline",
    decline_code: str = "",
    plan: str = "pro-monthly",
    country: str = "DE",
    signed_up: datetime = datetime(2025, 1, 15, tzinfo=UTC),
) -> Invoice:
    """Invoice ``inv_<n>``: a first failed payment at ``failed_at``, maybe retries, maybe paid."""
    customer = Customer.objects.create(
        cb_id=f"cus_{n}", resource_version=1, country=country, cb_created_at=signed_up
    )
    PaymentSource.objects.create(
        cb_id=f"pm_{n}", customer=customer, gateway=gateway, card_brand="visa", resource_version=1
    )
    subscription = Subscription.objects.create(
        cb_id=f"sub_{n}",
        customer=customer,
        status="active",
        plan_id=plan,
        currency_code=currency,
        resource_version=1,
    )
    paid_at = failed_at + paid_after if paid_after is not None else None
    status, dunning = "payment_due", "in_progress"
    if paid_at:
        status, dunning = "paid", ""
    elif ended == "write_off":
        status, dunning, paid_at = "paid", "exhausted", failed_at + timedelta(days=28)
    elif ended in ("void", "not_paid"):
        status, dunning = {"void": "voided", "not_paid": "not_paid"}[ended], "exhausted"
    invoice = Invoice.objects.create(
        cb_id=f"inv_{n}",
        customer=customer,
        subscription=subscription,
        status=status,
        dunning_status=dunning,
        currency_code=currency,
        total=amount,
        amount_due=0 if status == "paid" else amount,
        date=failed_at,
        paid_at=paid_at,
        amount_paid=amount if paid_after is not None else 0,
        write_off_amount=amount if ended == "write_off" else 0,
        resource_version=1,
    )

    def payment(suffix: str, *, status: str, at: datetime, card: str = f"pm_{n}"):
        Transaction.objects.create(
            cb_id=f"txn_{n}_{suffix}",
            customer=customer,
            invoice=invoice,
            type="payment",
            status=status,
            amount=amount,
            currency_code=currency,
            date=at,
            gateway=gateway,
            error_category=category if status == "failure" else "",
            decline_code=decline_code if status == "failure" else "",
            payment_source_cb_id=card,
            resource_version=1,
        )

    payment("first", status="failure", at=failed_at)
    for i in range(retries_failed):
        payment(f"retry{i}", status="failure", at=failed_at + timedelta(hours=6 * (i + 1)))
    if paid_after is not None:
        payment("paid", status="success", at=paid_at, card=f"pm_{n}_new" if new_card else f"pm_{n}")
    failure_summary_refresh(invoice_ids=[invoice.cb_id])
    return invoice


def paid_invoice(n: int, *, paid_at: datetime, amount: int = 10_000, currency: str = "USD"):
    """Invoice ``inv_<n>``, paid by its first payment attempt at ``paid_at``."""
    customer = Customer.objects.create(cb_id=f"cus_{n}", resource_version=1, country="DE")
    invoice = Invoice.objects.create(
        cb_id=f"inv_{n}",
        customer=customer,
        status="paid",
        currency_code=currency,
        total=amount,
        amount_paid=amount,
        date=paid_at,
        paid_at=paid_at,
        resource_version=1,
    )
    Transaction.objects.create(
        cb_id=f"txn_{n}_first",
        customer=customer,
        invoice=invoice,
        type="payment",
        status="success",
        amount=amount,
        currency_code=currency,
        date=paid_at,
        gateway="stripe",
        payment_source_cb_id=f"pm_{n}",
        resource_version=1,
    )
    failure_summary_refresh(invoice_ids=[invoice.cb_id])
    return invoice


def cancelled_subscription(n: int, *, at: datetime, reason: str, currency: str = "USD", mrr=4900):
    customer = Customer.objects.create(cb_id=f"cus_c{n}", resource_version=1, country="DE")
    return Subscription.objects.create(
        cb_id=f"sub_c{n}",
        customer=customer,
        status="cancelled",
        cancelled_at=at,
        cancel_reason=reason,
        currency_code=currency,
        mrr=mrr,
        plan_id="pro-monthly",
        resource_version=1,
    )
