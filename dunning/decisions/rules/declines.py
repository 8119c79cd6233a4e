"""Reading a failed payment from the mirror: the decline, and the card's recent attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

from dunning.decisions.rules.network_rules import Decline
from dunning.models import PaymentSource, Transaction

ATTEMPT_WINDOW = timedelta(days=30)


def decline_of(*, transaction: Transaction) -> Decline:
    """The decline as the network rules need it; the brand comes from the payment source."""
    detail = transaction.error_detail if isinstance(transaction.error_detail, dict) else {}
    brand = (
        PaymentSource.objects.filter(cb_id=transaction.payment_source_cb_id)
        .values_list("card_brand", flat=True)
        .first()
    )
    return Decline(
        brand=brand or "",
        decline_code=transaction.decline_code
        or transaction.network_error_code
        or transaction.error_code,
        advice_code=transaction.processor_advice_code,
        error_category=transaction.error_category,
        error_cause_id=str(detail.get("error_cause_id") or ""),
        recommendation_code=transaction.recommendation_code,
    )


def card_attempts(*, transaction: Transaction, before: datetime) -> list[datetime]:
    """Earlier declined attempts on the same card in the last 30 days (every source counts)."""
    if not transaction.payment_source_cb_id:
        return []
    return list(
        Transaction.objects.filter(
            payment_source_cb_id=transaction.payment_source_cb_id,
            type="payment",
            status="failure",
            date__gte=before - ATTEMPT_WINDOW,
            date__lt=before,
        )
        .exclude(pk=transaction.pk)
        .order_by("date")
        .values_list("date", flat=True)
    )
