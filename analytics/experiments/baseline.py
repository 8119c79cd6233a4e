"""Today's recovery rate within a dunning window: the baseline an experiment is designed on."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.utils import timezone

from dunning.models import InvoiceFailure


def baseline_recovery_rate(*, window_days: int = 28, lookback_days: int = 180) -> float | None:
    """Share of failures (first failure in the lookback, window ended) paid within the window."""
    now = timezone.now()
    window = timedelta(days=window_days)
    ended = InvoiceFailure.objects.filter(
        first_failed_at__lte=now - window,
        first_failed_at__gte=now - timedelta(days=lookback_days) - window,
    )
    to_paid = ExpressionWrapper(F("paid_at") - F("first_failed_at"), output_field=DurationField())
    counts = ended.annotate(to_paid=to_paid).aggregate(
        total=Count("id"),
        recovered=Count("id", filter=Q(is_recovered=True, to_paid__lte=window)),
    )
    return counts["recovered"] / counts["total"] if counts["total"] else None
