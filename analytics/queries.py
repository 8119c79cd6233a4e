"""Aggregate queries for the overview page (one SQL query per figure, no row loops)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from dunning.models import Invoice, Transaction
from dunning.models.mirror import DUE_STATUSES

# Unpaid invoices Chargebee is still working on (retrying, or paused until a date). The
# partial index ``invoice_in_dunning`` has this very condition (PostgreSQL reads it only then).
IN_DUNNING = Q(
    status__in=DUE_STATUSES,
    dunning_status="in_progress",  # a paused dunning is in_progress too
    deleted=False,
)


def dunning_totals_by_currency() -> list[dict]:
    return list(
        Invoice.objects.filter(IN_DUNNING)
        .values("currency_code")
        .annotate(invoices=Count("id"), amount_due=Sum("amount_due"))
        .order_by("-amount_due")
    )


def payment_outcomes_since(*, days: int) -> dict[str, int]:
    since = timezone.now() - timedelta(days=days)
    return Transaction.objects.filter(type="payment", date__gte=since).aggregate(
        failed=Count("id", filter=Q(status="failure")),
        succeeded=Count("id", filter=Q(status="success")),
    )


def recent_failed_payments(*, limit: int = 10) -> QuerySet[Transaction]:
    return (
        Transaction.objects.filter(type="payment", status="failure")
        .select_related("customer", "invoice")
        .order_by("-date")[:limit]
    )
