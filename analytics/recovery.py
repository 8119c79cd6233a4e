"""Recovery dashboard queries: what failed and what was recovered (the summary figures);
the breakdowns — over time, by segment, decline code, path, time to recovery, churn — are
in ``analytics.recovery_breakdowns``.

Definitions (also on the page):

- a *failed invoice* has at least one failed payment transaction; it is counted in the
  period of its **first** failure, and its *failed revenue* is the amount of that failure;
- it is *recovered* when it was paid by payments (``amount_paid`` > 0) at or after that
  first failure and nothing was written off (a voided invoice is not paid); *time to
  recovery* runs from the first failure to the invoice's ``paid_at``;
- *in dunning now*: due invoices Chargebee is still working on (``queries.IN_DUNNING``);
- *involuntary churn*: subscriptions cancelled with ``cancel_reason`` "not_paid".

Money is never summed across currencies: every money figure is for one currency (the
filter's, else the one with the most failed revenue in the period).

Every function runs one aggregate query over ``InvoiceFailure`` (one row per failed invoice,
kept current by event processing: no search for first failures at query time) and returns
a cached ``Table``; the failure rate counts ``InvoiceFirstAttempt`` (one row per invoice with a
payment attempt, kept the same way).
"""

from __future__ import annotations

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.http import urlencode

from analytics.filters import DashboardFilters
from analytics.queries import IN_DUNNING
from analytics.tables import cached, major_units, rate
from dunning.models import Invoice, InvoiceFailure, InvoiceFirstAttempt, Subscription, Transaction

FAILED_PAYMENT = Q(type="payment", status="failure")
SUCCESSFUL_PAYMENT = Q(type="payment", status="success")
TOP_SEGMENTS = 15
TOP_CUSTOMERS = 10
# Edges (days) of the time-to-recovery histogram: [0,1) [1,2) ... [28, 60) 60+.
RECOVERY_DAY_EDGES = (1, 2, 3, 5, 7, 10, 14, 21, 28, 60)


# On a summary row: paid by payments at or after the first failure, nothing written off
# (computed from the invoice by ``dunning.sync.mirror.failures`` whenever the mirror changes).
RECOVERED = Q(is_recovered=True)


def first_failures(*, filters: DashboardFilters, currency: str | None = None) -> QuerySet:
    """One row per failed invoice whose first failed payment falls in the period."""
    rows = InvoiceFailure.objects.filter(
        first_failed_at__gte=filters.since, first_failed_at__lt=filters.until
    )
    currency = filters.currency if currency is None else currency
    if currency:
        rows = rows.filter(currency_code=currency)
    return segments_narrow(rows, filters=filters, plan="plan_id", country="country")


def segments_narrow(rows: QuerySet, *, filters: DashboardFilters, plan: str, country: str):
    """``rows`` narrowed by the segment filters set (``plan``, ``country``: their fields)."""
    if filters.plan:
        rows = rows.filter(**{plan: filters.plan})
    if filters.country:
        rows = rows.filter(**{country: filters.country})
    if filters.gateway:
        rows = rows.filter(gateway=filters.gateway)
    return rows.order_by()


def invoices_link(*, filters: DashboardFilters, **bucket: str) -> str:
    """The invoices behind a figure: these filters and a bucket (by, value, bucket, outcome;
    read by ``analytics.recovery_invoices``)."""
    query = {**filters.querystring_fields, **bucket}
    return f"{reverse('analytics:recovery_invoices')}?{urlencode(query)}"


def recovery_currencies(*, filters: DashboardFilters) -> list[dict]:
    """Currencies with failures in the period, largest failed revenue first."""

    def compute():
        return list(
            first_failures(filters=filters, currency="")
            .values("currency_code")
            .annotate(failed=Count("pk"), failed_amount=Sum("amount"))
            .order_by("-failed_amount", "currency_code")
        )

    # Every currency whichever is chosen: one cached list for the page and ``main_currency``.
    return cached(name="currencies", key=filters.with_currency("").cache_key, compute=compute)


def main_currency(*, filters: DashboardFilters) -> str:
    if filters.currency:
        return filters.currency
    currencies = recovery_currencies(filters=filters)
    return currencies[0]["currency_code"] if currencies else ""


def _totals(rows: QuerySet) -> dict:
    return rows.aggregate(
        failed=Count("pk"),
        failed_amount=Coalesce(Sum("amount"), 0),
        recovered=Count("pk", filter=RECOVERED),
        recovered_amount=Coalesce(Sum("amount", filter=RECOVERED), 0),
    )


def recovery_summary(*, filters: DashboardFilters) -> dict:
    """The headline figures, for ``filters.currency`` (set it with ``main_currency`` first)."""

    def compute():
        totals = _totals(first_failures(filters=filters))
        dunning = _in_dunning_totals(filters=filters)
        churn = cancellations_of(filters=filters).aggregate(
            involuntary=Count("pk", filter=Q(cancel_reason="not_paid")), all=Count("pk")
        )
        # Counted over columns the index on currency and date holds (not the key): the rows
        # are counted from the index, without reading the table.
        attempts = _first_attempts(filters=filters).aggregate(
            all=Count("*"), failed=Count("status", filter=Q(status="failure"))
        )
        currency = filters.currency
        return {
            "currency": currency,
            "failed_first_attempts": attempts["failed"],
            "first_attempts": attempts["all"],
            "failure_rate": rate(attempts["failed"], attempts["all"]),
            "failed": totals["failed"],
            "failed_amount": major_units(totals["failed_amount"], currency),
            "recovered": totals["recovered"],
            "recovered_amount": major_units(totals["recovered_amount"], currency),
            "recovery_rate": rate(totals["recovered_amount"], totals["failed_amount"]),
            "in_dunning": dunning["invoices"],
            "in_dunning_amount": major_units(dunning["amount"], currency),
            "involuntary_churn": churn["involuntary"],
            "cancellations": churn["all"],
        }

    return cached(name="summary", key=filters.cache_key, compute=compute)


# Headline -> how its change is told: "relative" (+12.0%) or "points" (+3.1 pts, for rates).
COMPARED = {
    "failed_amount": "relative",
    "recovered_amount": "relative",
    "recovery_rate": "points",
    "failure_rate": "points",
    "failed": "relative",
    "involuntary_churn": "relative",
}


def change_text(current, previous, *, how: str) -> str:
    """How a headline moved since the previous period, in words."""
    if current is None or previous is None:
        return "no comparison"
    if how == "points":
        difference = round(current - previous, 1)
        return "no change" if difference == 0 else f"{difference:+.1f} pts"
    if not previous:
        return "no change" if not current else "none before"
    relative = round(100 * (current - previous) / previous, 1)
    return "no change" if relative == 0 else f"{relative:+.1f}%"


def recovery_comparison(*, current: dict, previous: dict) -> dict[str, dict]:
    """Each compared headline's value in the previous period and the change since."""
    return {
        name: {
            "previous": previous[name],
            "change": change_text(current[name], previous[name], how=how),
        }
        for name, how in COMPARED.items()
    }


def _first_attempts(*, filters: DashboardFilters) -> QuerySet:
    """Each invoice's first payment attempt (earliest, then by Chargebee id), when it falls
    in the period: the denominator of the failure rate. Retries are not first attempts."""
    rows = InvoiceFirstAttempt.objects.filter(
        attempted_at__gte=filters.since,
        attempted_at__lt=filters.until,
        currency_code=filters.currency,
    )
    return segments_narrow(rows, filters=filters, plan="plan_id", country="country")


def _in_dunning_totals(*, filters: DashboardFilters) -> dict:
    """How many invoices are in dunning now and what they owe; cached apart from the period's
    figures, as the comparison with the previous period asks the same."""

    def compute():
        return _in_dunning(filters=filters).aggregate(
            invoices=Count("pk"), amount=Coalesce(Sum("amount_due"), 0)
        )

    return cached(name="in_dunning", key=filters.segments_cache_key, compute=compute)


def _in_dunning(*, filters: DashboardFilters) -> QuerySet:
    """Invoices in dunning now (the period does not apply: this is the present)."""
    invoices = Invoice.objects.filter(IN_DUNNING, currency_code=filters.currency)
    if filters.plan:
        invoices = invoices.filter(subscription__plan_id=filters.plan)
    if filters.country:
        invoices = invoices.filter(customer__country=filters.country)
    if filters.gateway:
        invoices = invoices.filter(
            Exists(
                Transaction.objects.filter(invoice_id=OuterRef("cb_id"), gateway=filters.gateway)
            )
        )
    return invoices


def cancellations_of(*, filters: DashboardFilters) -> QuerySet:
    cancelled = Subscription.objects.filter(
        status="cancelled", cancelled_at__gte=filters.since, cancelled_at__lt=filters.until
    )
    if filters.currency:
        cancelled = cancelled.filter(currency_code=filters.currency)
    if filters.plan:
        cancelled = cancelled.filter(plan_id=filters.plan)
    if filters.country:
        cancelled = cancelled.filter(customer__country=filters.country)
    # Gateway is a property of payments, not of subscriptions: it does not narrow churn.
    return cancelled
