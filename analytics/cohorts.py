"""Cohort analysis: how fast each month's failed invoices were recovered.

A cohort is the failed invoices whose first failure (or whose customer's signup) fell in
one month. Its value at day *d* is the share of the cohort recovered within *d* days of
the first failure (day 0: within 24 hours; "recovered" as in ``analytics.recovery``). A
value is shown only once every invoice in the cohort is old enough to have been observed
for *d* days, so young cohorts do not look worse than they are and every row can only
rise from left to right.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from analytics.filters import DashboardFilters
from analytics.recovery import RECOVERED, first_failures
from analytics.tables import Table, cached, rate

DAYS = (0, 1, 2, 3, 5, 7, 10, 14, 21, 28, 45, 60, 90)
COHORT_FIELDS = {
    "failure": ("first_failed_at", "failure month"),
    "signup": ("signed_up_at", "signup month"),
}


def _within(days: int) -> Q:
    return RECOVERED & Q(paid_at__lt=F("first_failed_at") + timedelta(days=days + 1))


def cohort_recovery(*, filters: DashboardFilters, by: str, now: datetime | None = None) -> Table:
    """Rows: cohorts (oldest first); columns: cohort, failed invoices, then % by each day."""
    field, label = COHORT_FIELDS[by]
    now = now or timezone.now()

    def compute():
        rows = (
            first_failures(filters=filters)
            .annotate(cohort=TruncMonth(field))
            .values("cohort")
            .annotate(
                failed=Count("pk"),
                last_failure=Max("first_failed_at"),
                **{f"d{day}": Count("pk", filter=_within(day)) for day in DAYS},
            )
            .order_by("cohort")
        )
        table_rows = []
        for r in rows:
            observed = [r["last_failure"] + timedelta(days=day + 1) <= now for day in DAYS]
            shares = [
                rate(r[f"d{day}"], r["failed"]) if seen else None
                for day, seen in zip(DAYS, observed, strict=True)
            ]
            cohort = r["cohort"].strftime("%Y-%m") if r["cohort"] else "(unknown)"
            table_rows.append([cohort, r["failed"], *shares])
        return Table(
            name=f"cohorts_by_{by}",
            title=f"Cumulative recovery rate by days since first failure, by {label}",
            columns=[label, "failed invoices", *[f"day {day}" for day in DAYS]],
            rows=table_rows,
            note="Blank: not every invoice of the cohort is that old yet.",
            chart={"kind": "heatmap", "x": label},
        )

    return cached(
        name=f"cohorts_{by}", key=f"{filters.cache_key}:{now:%Y%m%d%H%M}", compute=compute
    )
