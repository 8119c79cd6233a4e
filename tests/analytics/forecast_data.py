"""Open failed invoices with and without decisions, and a history to take rates from."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dunning.decisions.latest import decision_create
from dunning.models import Decision, Invoice
from tests.analytics.mirror import days_ago, failed_invoice


def decide(invoice: Invoice, *, score: float | None, segment: str = "self_serve", age=1.0):
    return decision_create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        trigger=Decision.Trigger.PAYMENT_FAILED,
        as_of=timezone.now() - timedelta(days=age),
        recovery_score=score,
        model_version="recovery v1",
        segment=segment,
        mode="shadow",
        reasoning="test",
    )


def hard_decline_history(first: int = 100, *, days: float = 60) -> None:
    """Four hard declines settled ``days`` ago: one recovered (after 5 days), three not."""
    failed_invoice(
        first, failed_at=days_ago(days), category="hard_decline", paid_after=timedelta(days=5)
    )
    for n in range(first + 1, first + 4):
        failed_invoice(n, failed_at=days_ago(days), category="hard_decline", ended="not_paid")


def three_open_invoices() -> list[Invoice]:
    """USD 100 (scored 0.8), USD 200 (scored 0.5), USD 50 (no decision: hard declines' 25%)."""
    one = failed_invoice(1, failed_at=days_ago(3), amount=10_000, category="soft_decline")
    two = failed_invoice(2, failed_at=days_ago(5), amount=20_000, category="soft_decline")
    three = failed_invoice(3, failed_at=days_ago(2), amount=5_000, category="hard_decline")
    decide(one, score=0.8, segment="self_serve")
    decide(two, score=0.2, segment="growth", age=4)  # an older decision: not the latest
    decide(two, score=0.5, segment="growth", age=1)
    decide(three, score=None, segment="self_serve")  # a cold start: no recovery score
    return [one, two, three]
