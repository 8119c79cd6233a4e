"""The fallback rates come from one query grouped by how many age bands each failure was
still unpaid at: the same rates as the ten filtered counts they replaced, on a seeded
history of failures paid at every age, written off, voided or still open."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from django.db.models import Count, F, Q
from django.utils import timezone

from analytics.forecast import (
    AGE_EDGES,
    NO_HISTORY_RATE,
    PRIOR_WEIGHT,
    RATE_HISTORY_DAYS,
    fallback_rates,
)
from dunning.models import InvoiceFailure
from tests.analytics.mirror import failed_invoice

pytestmark = pytest.mark.django_db

WINDOW_DAYS = 28
CATEGORIES = ("soft_decline", "hard_decline", "insufficient_funds")
ENDINGS = ("", "write_off", "void", "not_paid")


def _seeded_failures(now: datetime) -> None:
    rng = random.Random(47)
    for n in range(1, 81):
        paid = rng.random() < 0.6
        # Paid exactly at some age edges too: the band boundaries are inclusive.
        paid_after = timedelta(days=rng.choice((*AGE_EDGES, rng.uniform(0.1, 30))))
        failed_invoice(
            n,
            failed_at=now - timedelta(days=rng.uniform(WINDOW_DAYS - 5, 200)),
            paid_after=paid_after if paid else None,
            ended="" if paid else rng.choice(ENDINGS),
            category=rng.choice(CATEGORIES),
        )


def _rates_by_filtered_counts(*, as_of: datetime, window_days: int):
    """The replaced query: two filtered counts per age band, grouped by category."""
    settled = InvoiceFailure.objects.filter(
        first_failed_at__gte=as_of - timedelta(days=RATE_HISTORY_DAYS),
        first_failed_at__lt=as_of - timedelta(days=window_days),
    ).order_by()
    recovered = Q(is_recovered=True, paid_at__lt=as_of)
    counts = {}
    for i, edge in enumerate(AGE_EDGES):
        still_open = Q(paid_at__isnull=True) | Q(
            paid_at__gte=F("first_failed_at") + timedelta(days=edge)
        )
        counts[f"n{i}"] = Count("pk", filter=still_open)
        counts[f"r{i}"] = Count("pk", filter=still_open & recovered)
    rows = list(settled.values("decline_category").annotate(**counts))
    overall: list[float] = []
    for i in range(len(AGE_EDGES)):
        n = sum(r[f"n{i}"] for r in rows)
        prior = overall[-1] if overall else NO_HISTORY_RATE
        overall.append(sum(r[f"r{i}"] for r in rows) / n if n else prior)
    rates = {
        r["decline_category"]: [
            (r[f"r{i}"] + PRIOR_WEIGHT * overall[i]) / (r[f"n{i}"] + PRIOR_WEIGHT)
            for i in range(len(AGE_EDGES))
        ]
        for r in rows
    }
    return rates, overall


@pytest.mark.parametrize("days_back", [0, 10, 60, 400])
def test_the_fallback_rates_are_those_of_the_filtered_counts(days_back):
    now = timezone.now()
    _seeded_failures(now)
    as_of = now - timedelta(days=days_back)

    rates, overall = fallback_rates(as_of=as_of, window_days=WINDOW_DAYS)

    assert (rates, overall) == _rates_by_filtered_counts(as_of=as_of, window_days=WINDOW_DAYS)
    if days_back < 60:  # the bands differ: failures were paid at every age
        assert len(set(overall)) == len(AGE_EDGES) and set(rates) == set(CATEGORIES)
