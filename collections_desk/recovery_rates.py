"""Historical recovery rates: what a case without a model score is expected to bring back.

When no model scored a case, its expected recovery uses how often invoices like it were
recovered in the past, and says so: first the rate of its decline category, else of its
segment, each over invoices whose first failure is at least ``SETTLED_AFTER`` old (their
outcome is known) and at most a year old, and only with ``MIN_INVOICES`` of them. Without
either, the case has no expected recovery (0) and ranks by amount, lifetime value, age and
SLA alone; nothing is invented. Rates come from ``InvoiceFailure``, the table the Recovery
dashboard counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet

from collections_desk.models import RecoveryBasis
from dunning.models import InvoiceFailure

SETTLED_AFTER = timedelta(days=30)
LOOKBACK = timedelta(days=365)  # a year of settled failures: recent enough to tell
MIN_INVOICES = 20
CACHE_SECONDS = 600.0


@dataclass(frozen=True)
class HistoricalRate:
    rate: float
    invoices: int  # settled invoices the rate is over


@dataclass(frozen=True)
class RecoveryRates:
    by_decline_category: dict[str, HistoricalRate]
    by_segment: dict[str, HistoricalRate]

    def for_case(
        self, *, recovery_score: float | None, decline_category: str, segment: str
    ) -> tuple[float | None, str]:
        """The rate a case's expected recovery uses, and where it comes from."""
        if recovery_score is not None:
            return recovery_score, RecoveryBasis.MODEL
        if known := self.by_decline_category.get(decline_category):
            return known.rate, RecoveryBasis.DECLINE_HISTORY
        if known := self.by_segment.get(segment):
            return known.rate, RecoveryBasis.SEGMENT_HISTORY
        return None, RecoveryBasis.NONE


def _rates(rows: QuerySet, key: str) -> dict[str, HistoricalRate]:
    recovered = Count("pk", filter=Q(is_recovered=True))
    grouped = rows.values(key).annotate(n=Count("pk"), recovered=recovered)
    return {
        row[key]: HistoricalRate(rate=row["recovered"] / row["n"], invoices=row["n"])
        for row in grouped.filter(n__gte=MIN_INVOICES).order_by()
        if row[key]
    }


def recovery_rates_compute(*, now: datetime) -> RecoveryRates:
    settled = InvoiceFailure.objects.filter(
        first_failed_at__lt=now - SETTLED_AFTER, first_failed_at__gte=now - LOOKBACK
    )
    # The segment of each invoice's latest decision, kept on the invoice.
    return RecoveryRates(
        by_decline_category=_rates(settled, "decline_category"),
        by_segment=_rates(
            settled.annotate(segment=F("invoice__latest_decision__segment")), "segment"
        ),
    )


_cached: dict[str, tuple[float, RecoveryRates]] = {}


def recovery_rates(*, now: datetime, fresh: bool = False) -> RecoveryRates:
    """The rates, computed at most every ``CACHE_SECONDS`` per process (a case synced after
    each decision reads them; the periodic refresh asks for ``fresh`` ones)."""
    cached = _cached.get("rates")
    if fresh or cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
        cached = (time.monotonic(), recovery_rates_compute(now=now))
        _cached["rates"] = cached
    return cached[1]


def recovery_rates_forget() -> None:
    _cached.clear()
