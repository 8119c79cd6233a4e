"""Ageing buckets: how long the oldest unpaid invoice of a case is past its due date.

The buckets of receivables ageing (0-30, 31-60, 61-90, over 90 days). Counted in one
aggregate query over whatever cases the caller narrowed to (the queue's filters, or every
open case for the overview); a filter by bucket is a range on the stored ``oldest_due_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet, Sum


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    low_days: int
    high_days: int | None  # None: no upper end


BUCKETS = (
    Bucket("0_30", "0-30 days", 0, 30),
    Bucket("31_60", "31-60 days", 31, 60),
    Bucket("61_90", "61-90 days", 61, 90),
    Bucket("90_plus", "Over 90 days", 91, None),
)
BUCKET_CHOICES = [(b.key, b.label) for b in BUCKETS]


def bucket_filter(key: str, *, now: datetime) -> Q:
    """Cases whose oldest unpaid invoice is due since the bucket's days (``low_days`` up to
    but not including ``high_days + 1``). Not yet due, or no due date known: 0 days."""
    bucket = next(b for b in BUCKETS if b.key == key)
    younger = Q()
    if bucket.high_days is not None:
        younger = Q(oldest_due_at__gt=now - timedelta(days=bucket.high_days + 1))
    if bucket.low_days == 0:
        return younger | Q(oldest_due_at__isnull=True)
    return younger & Q(oldest_due_at__lte=now - timedelta(days=bucket.low_days))


@dataclass(frozen=True)
class BucketCount:
    bucket: Bucket
    cases: int
    amount_due: int | None  # minor units when every case is in one currency, else None
    currency: str = ""


def ageing_counts(*, cases: QuerySet, now: datetime) -> list[BucketCount]:
    """Cases (and the amount, if in one currency) per bucket, in one query."""
    aggregates = {}
    for bucket in BUCKETS:
        where = bucket_filter(bucket.key, now=now)
        aggregates[f"n_{bucket.key}"] = Count("pk", filter=where)
        aggregates[f"amount_{bucket.key}"] = Sum("amount_due", filter=where)
    aggregates["currencies"] = Count("currency", distinct=True)
    aggregates["currency"] = Max("currency")
    totals = cases.order_by().aggregate(**aggregates)
    one_currency = totals["currencies"] <= 1
    return [
        BucketCount(
            bucket=b,
            cases=totals[f"n_{b.key}"],
            amount_due=(totals[f"amount_{b.key}"] or 0) if one_currency else None,
            currency=totals["currency"] or "",
        )
        for b in BUCKETS
    ]
