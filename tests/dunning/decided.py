"""Decisions made by the real service about invoices written straight into the mirror."""

from __future__ import annotations

from datetime import UTC, datetime

from dunning.models import Customer, Decision, Invoice, PaymentSource, Transaction
from dunning.pipeline.decide import decision_make

FAILED_AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def decided_invoice(
    n: int = 1,
    *,
    at: datetime = FAILED_AT,
    decline_code: str = "51",
    country: str = "DE",
    total: int = 4900,
) -> Decision:
    """A customer whose card was declined on invoice ``inv_<n>``, and the decision about it."""
    declined_invoice(n, at=at, decline_code=decline_code, country=country, total=total)
    return decision_make(invoice_id=f"inv_{n}", trigger="payment_failed", at=at)


def declined_invoice(
    n: int = 1,
    *,
    at: datetime = FAILED_AT,
    decline_code: str = "51",
    country: str = "DE",
    total: int = 4900,
) -> Invoice:
    """A customer whose card was declined on invoice ``inv_<n>``, not decided about yet."""
    customer = Customer.objects.create(
        cb_id=f"cus_{n}",
        resource_version=1,
        first_name="Ana",
        last_name=f"Lima {n}",
        country=country,
        cb_created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    PaymentSource.objects.create(
        cb_id=f"pm_{n}",
        customer=customer,
        card_brand="visa",
        status="valid",
        gateway="stripe",
        resource_version=1,
    )
    invoice = Invoice.objects.create(
        cb_id=f"inv_{n}",
        customer=customer,
        status="payment_due",
        dunning_status="in_progress",
        currency_code="EUR",
        total=total,
        amount_due=total,
        date=at,
        resource_version=1,
    )
    Transaction.objects.create(
        cb_id=f"txn_{n}",
        customer=customer,
        invoice_id=f"inv_{n}",
        type="payment",
        status="failure",
        date=at,
        gateway="stripe",
        error_category="soft_decline",
        decline_code=decline_code,
        payment_source_cb_id=f"pm_{n}",
        amount=total,
        resource_version=1,
    )
    return invoice
