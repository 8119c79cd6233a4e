"""Training examples for "will this failed invoice be recovered?", from the mirror.

One example per invoice: its first declined payment, described only with what was known
at that moment, labelled with how the invoice ended. Invoices still in dunning have no
label yet and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dunning.decisions.learning.failure_history import prior_failures
from dunning.models import Customer, Invoice, PaymentSource, Transaction

CATEGORICAL = [
    "decline_code",
    "error_category",
    "advice_code",
    "gateway",
    "currency",
    "brand",
    "funding",
    "country",
    "period_unit",
]
NUMERIC = ["log_amount", "tenure_days", "prior_failures_365d", "card_months_left"]
FEATURES = CATEGORICAL + NUMERIC


@dataclass(frozen=True)
class Example:
    failed_at: datetime
    features: dict
    recovered: bool | None  # None: the outcome is not known yet


def invoice_outcome(invoice: Invoice) -> bool | None:
    return outcome_of(invoice.status, invoice.write_off_amount)


def outcome_of(status: str, write_off_amount: int) -> bool | None:
    if status == "paid":
        return write_off_amount == 0
    if status in ("not_paid", "voided"):
        return False
    return None


def failure_features(
    *, transaction: Transaction, invoice: Invoice, source: PaymentSource | None, prior_failures: int
) -> dict:
    customer, subscription = invoice.customer, invoice.subscription
    return failure_features_of(
        at=transaction.date,
        decline_code=transaction.decline_code or transaction.error_code,
        error_category=transaction.error_category,
        advice_code=transaction.processor_advice_code,
        gateway=transaction.gateway,
        currency=transaction.currency_code,
        amount=transaction.amount,
        brand=source.card_brand if source else "",
        funding=source.card_funding_type if source else "",
        card_expiry=(source.card_expiry_year, source.card_expiry_month) if source else None,
        country=customer.country,
        customer_since=customer.cb_created_at,
        period_unit=subscription.billing_period_unit if subscription else "",
        prior_failures=prior_failures,
    )


def failure_features_of(
    *,
    at: datetime,
    decline_code: str,
    error_category: str,
    advice_code: str,
    gateway: str,
    currency: str,
    amount: int,
    brand: str,
    funding: str,
    card_expiry: tuple | None,
    country: str,
    customer_since: datetime | None,
    period_unit: str,
    prior_failures: float,
) -> dict:
    """The features of a first decline, from plain values (the mirror's or a simulation's)."""
    tenure = (at - customer_since).days if customer_since else 0
    months_left = 0.0
    if card_expiry and card_expiry[0] and card_expiry[1]:
        months_left = (card_expiry[0] - at.year) * 12 + card_expiry[1] - at.month
    return {
        "decline_code": decline_code or "none",
        "error_category": error_category or "none",
        "advice_code": advice_code or "none",
        "gateway": gateway or "none",
        "currency": currency or "none",
        "brand": brand or "none",
        "funding": funding or "none",
        "country": country or "none",
        "period_unit": period_unit or "none",
        "log_amount": math.log1p(max(amount, 0) / 100),
        "tenure_days": float(max(tenure, 0)),
        "prior_failures_365d": float(prior_failures),
        "card_months_left": float(months_left),
    }


def recovery_examples() -> list[Example]:
    """One example per declined invoice, read in bulk (five queries, whatever the size)."""
    declines = list(
        Transaction.objects.filter(
            type="payment", status="failure", invoice_id__isnull=False, date__isnull=False
        )
        .order_by("invoice_id", "date", "id")
        .values_list(
            "invoice_id",
            "customer_id",
            "date",
            "decline_code",
            "error_code",
            "error_category",
            "processor_advice_code",
            "gateway",
            "currency_code",
            "amount",
            "payment_source_cb_id",
        )
    )
    if not declines:
        return []
    first_of: dict[str, tuple] = {}
    for row in declines:
        first_of.setdefault(row[0], row)
    firsts = list(first_of.values())
    invoices = {
        cb_id: rest
        for cb_id, *rest in Invoice.objects.filter(cb_id__in=first_of).values_list(
            "cb_id", "status", "write_off_amount", "subscription__billing_period_unit"
        )
    }
    customers = dict(
        (cb_id, (country, created))
        for cb_id, country, created in Customer.objects.values_list(
            "cb_id", "country", "cb_created_at"
        )
    )
    sources = {
        cb_id: rest
        for cb_id, *rest in PaymentSource.objects.values_list(
            "cb_id", "card_brand", "card_funding_type", "card_expiry_year", "card_expiry_month"
        )
    }
    prior = prior_failures(
        np.array([r[1] or "" for r in declines], dtype=object),
        np.array([r[2].timestamp() for r in declines], dtype=np.int64),
        customer=np.array([r[1] or "" for r in firsts], dtype=object),
        before=np.array([r[2].timestamp() for r in firsts], dtype=np.int64),
    )
    examples = []
    for row, prior_count in zip(firsts, prior.tolist(), strict=True):
        invoice, customer, at, code, error, category, advice, gateway, currency, amount, psid = row
        status, written_off, period_unit = invoices[invoice]
        country, since = customers.get(customer, ("", None))
        brand, funding, year, month = sources.get(psid, ("", "", None, None))
        features = failure_features_of(
            at=at,
            decline_code=code or error,
            error_category=category,
            advice_code=advice,
            gateway=gateway,
            currency=currency,
            amount=amount,
            brand=brand,
            funding=funding,
            card_expiry=(year, month),
            country=country,
            customer_since=since,
            period_unit=period_unit,
            prior_failures=prior_count,
        )
        examples.append(Example(at, features, outcome_of(status, written_off)))
    return sorted(examples, key=lambda e: e.failed_at)
