"""Training examples for "will this failed invoice be recovered?", from the mirror.

One example per invoice: its first declined payment, described only with what was known
at that moment, labelled with how the invoice ended. Invoices still in dunning have no
label yet and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from dunning.models import Invoice, PaymentSource, Transaction

CATEGORICAL = ["decline_code", "error_category", "advice_code", "gateway", "currency", "brand",
               "funding", "country", "period_unit"]  # fmt: skip
NUMERIC = ["log_amount", "tenure_days", "prior_failures_365d", "card_months_left"]
FEATURES = CATEGORICAL + NUMERIC


@dataclass(frozen=True)
class Example:
    failed_at: datetime
    features: dict
    recovered: bool | None  # None: the outcome is not known yet


def invoice_outcome(invoice: Invoice) -> bool | None:
    if invoice.status == "paid":
        return invoice.write_off_amount == 0
    if invoice.status in ("not_paid", "voided"):
        return False
    return None


def failure_features(*, transaction: Transaction, invoice: Invoice, source: PaymentSource | None,
                     prior_failures: int) -> dict:  # fmt: skip
    customer, subscription = invoice.customer, invoice.subscription
    when = transaction.date
    tenure = (when - customer.cb_created_at).days if customer.cb_created_at else 0
    months_left = 0.0
    if source and source.card_expiry_year and source.card_expiry_month:
        months_left = (
            (source.card_expiry_year - when.year) * 12 + source.card_expiry_month - when.month
        )
    return {
        "decline_code": transaction.decline_code or transaction.error_code or "none",
        "error_category": transaction.error_category or "none",
        "advice_code": transaction.processor_advice_code or "none",
        "gateway": transaction.gateway or "none",
        "currency": transaction.currency_code or "none",
        "brand": (source.card_brand if source else "") or "none",
        "funding": (source.card_funding_type if source else "") or "none",
        "country": customer.country or "none",
        "period_unit": (subscription.billing_period_unit if subscription else "") or "none",
        "log_amount": math.log1p(max(transaction.amount, 0) / 100),
        "tenure_days": float(max(tenure, 0)),
        "prior_failures_365d": float(prior_failures),
        "card_months_left": float(months_left),
    }


def recovery_examples() -> list[Example]:
    first_failures = (
        Transaction.objects.filter(type="payment", status="failure", invoice__isnull=False)
        .order_by("invoice_id", "date")
        .select_related("invoice__customer", "invoice__subscription")
    )
    sources = {s.cb_id: s for s in PaymentSource.objects.all()}
    examples, seen = [], set()
    for txn in first_failures.iterator(chunk_size=2000):
        if txn.invoice_id in seen or txn.date is None:
            continue
        seen.add(txn.invoice_id)
        prior = (
            Transaction.objects.filter(
                customer_id=txn.customer_id, type="payment", status="failure",
                date__gte=txn.date - timedelta(days=365), date__lt=txn.date,
            ).exclude(invoice_id=txn.invoice_id).aggregate(n=Count("id", filter=Q()))["n"]
        )  # fmt: skip
        features = failure_features(
            transaction=txn, invoice=txn.invoice, source=sources.get(txn.payment_source_cb_id),
            prior_failures=prior,
        )  # fmt: skip
        examples.append(Example(txn.date, features, invoice_outcome(txn.invoice)))
    return sorted(examples, key=lambda e: e.failed_at)
