"""The failure rate over a simulated history, processed event by event, is what it was when
the dashboard searched every payment for each invoice's first attempt."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Count, Exists, OuterRef, Q

from analytics.filters import DashboardFilters, filters_parse
from analytics.recovery import recovery_summary, segments_narrow
from analytics.tables import rate
from dunning.models import Transaction
from dunning.sync.ingest import event_store
from dunning.sync.processing import event_process
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox

pytestmark = pytest.mark.django_db


def first_attempts_searched(filters: DashboardFilters) -> dict:
    """The previous definition, an anti-join over every payment attempt."""
    attempts = Q(type="payment", status__in=["success", "failure"])
    earlier = Transaction.objects.filter(attempts, invoice_id=OuterRef("invoice_id")).filter(
        Q(date__lt=OuterRef("date")) | Q(date=OuterRef("date"), cb_id__lt=OuterRef("cb_id"))
    )
    rows = Transaction.objects.filter(
        attempts,
        invoice__isnull=False,
        date__gte=filters.since,
        date__lt=filters.until,
        currency_code=filters.currency,
    ).filter(~Exists(earlier))
    rows = segments_narrow(
        rows, filters=filters, plan="invoice__subscription__plan_id", country="customer__country"
    )
    return rows.aggregate(all=Count("pk"), failed=Count("pk", filter=Q(status="failure")))


@pytest.fixture
def history() -> None:
    sandbox = Sandbox()
    simulate_history(sandbox, customers=40, months=4, seed=23, end=1_790_000_000)
    for payload in sandbox.events:
        event_process(event_pk=event_store(payload=payload).event.pk)


def busiest_currency() -> str:
    """The currency with the most failed payments (the history bills in several)."""
    failed = Transaction.objects.filter(type="payment", status="failure")
    return Counter(failed.values_list("currency_code", flat=True)).most_common(1)[0][0]


def segments(currency: str) -> list[dict[str, str]]:
    """The plan, country and gateway of a failed payment, one at a time."""
    failed = Transaction.objects.filter(type="payment", status="failure", currency_code=currency)
    first = failed.exclude(invoice=None).order_by("date", "cb_id").first()
    assert first is not None and first.invoice.subscription is not None
    return [
        {},
        {"plan": first.invoice.subscription.plan_id},
        {"country": first.customer.country},
        {"gateway": first.gateway},
    ]


@pytest.mark.parametrize(
    "period",
    [
        {"from": "2026-05-01", "to": "2026-09-30"},  # all of it
        {"from": "2026-07-10", "to": "2026-08-09"},  # a month: retries of earlier failures
    ],
)
def test_the_failure_rate_is_the_one_the_search_gave(history, period):
    currency = busiest_currency()
    for segment in segments(currency):
        filters = filters_parse(params={**period, **segment, "currency": currency})
        expected = first_attempts_searched(filters)
        assert expected["all"] > 0, segment
        if not segment:
            assert 0 < expected["failed"] < expected["all"]

        summary = recovery_summary(filters=filters)

        assert (summary["failed_first_attempts"], summary["first_attempts"]) == (
            expected["failed"],
            expected["all"],
        ), segment
        assert summary["failure_rate"] == rate(expected["failed"], expected["all"])
