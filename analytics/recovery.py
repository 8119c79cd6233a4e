"""Recovery dashboard queries: what failed, what was recovered, how, how fast, what churned.

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
a cached ``Table``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.urls import reverse
from django.utils.http import urlencode

from analytics.attribution import ATTRIBUTION_LABELS, ATTRIBUTION_RULE, attribution_annotate
from analytics.filters import DashboardFilters
from analytics.queries import IN_DUNNING
from analytics.tables import Table, cached, major_units, rate
from collections_desk.access import governing_case_ids, rows_in_reach
from dunning.decisions import labels
from dunning.models import Invoice, InvoiceFailure, OutboundMessage, Subscription, Transaction

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

    return cached(name="currencies", key=filters.cache_key, compute=compute)


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
        dunning = _in_dunning(filters=filters).aggregate(
            invoices=Count("pk"), amount=Coalesce(Sum("amount_due"), 0)
        )
        churn = _cancellations(filters=filters).aggregate(
            involuntary=Count("pk", filter=Q(cancel_reason="not_paid")), all=Count("pk")
        )
        attempts = _first_attempts(filters=filters).aggregate(
            all=Count("pk"), failed=Count("pk", filter=Q(status="failure"))
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
    "failed_amount": "relative", "recovered_amount": "relative", "recovery_rate": "points",
    "failure_rate": "points", "failed": "relative", "involuntary_churn": "relative",
}  # fmt: skip


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
        name: {"previous": previous[name], "change": change_text(current[name], previous[name],
                                                                  how=how)}
        for name, how in COMPARED.items()
    }  # fmt: skip


def _first_attempts(*, filters: DashboardFilters) -> QuerySet:
    """Each invoice's first payment attempt (earliest, then by Chargebee id), when it falls
    in the period: the denominator of the failure rate. Retries are not first attempts."""
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
    return segments_narrow(
        rows, filters=filters, plan="invoice__subscription__plan_id", country="customer__country"
    )


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


def _cancellations(*, filters: DashboardFilters) -> QuerySet:
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


def time_bucket(filters: DashboardFilters):
    """Days for a month or less, weeks up to ~4 months, months beyond."""
    days = (filters.until - filters.since).days
    if days <= 45:
        return TruncDay, "day"
    if days <= 120:
        return TruncWeek, "week"
    return TruncMonth, "month"


def recovery_over_time(*, filters: DashboardFilters) -> Table:
    trunc, unit = time_bucket(filters)

    def compute():
        rows = (
            first_failures(filters=filters)
            .annotate(bucket=trunc("first_failed_at"))
            .values("bucket")
            .annotate(
                failed_amount=Sum("amount"),
                recovered_amount=Coalesce(Sum("amount", filter=RECOVERED), 0),
            )
            .order_by("bucket")
        )
        currency = filters.currency
        return Table(
            name="over_time",
            title=f"Failed and recovered revenue by {unit} of first failure ({currency})",
            columns=[unit, "failed revenue", "recovered revenue", "recovery rate %"],
            rows=[
                [
                    r["bucket"].date().isoformat(),
                    major_units(r["failed_amount"], currency),
                    major_units(r["recovered_amount"], currency),
                    rate(r["recovered_amount"], r["failed_amount"]),
                ]
                for r in rows
            ],
            chart={
                "kind": "bars_and_rate",
                "x": unit,
                "links": [
                    invoices_link(filters=filters, bucket=r["bucket"].date().isoformat())
                    for r in rows
                ],
            },
        )

    return cached(name="over_time", key=filters.cache_key, compute=compute)


# name -> (field on a first-failure row, label, the labels table its values read from)
DIMENSIONS = {
    "decline_category": ("decline_category", "decline category", "category"),
    "gateway": ("gateway", "gateway", "gateway"),
    "plan": ("plan_id", "plan", ""),
    "country": ("country", "country", ""),
}


def _value_label(value: str, kind: str) -> str:
    if not value:
        return "(none)"
    return labels.label(value, kind) if kind else value


def recovery_by(*, filters: DashboardFilters, dimension: str) -> Table:
    """Failed and recovered revenue per value of one dimension (the largest first)."""
    field, label, kind = DIMENSIONS[dimension]

    def compute():
        rows = (
            first_failures(filters=filters)
            .annotate(value=Coalesce(F(field), Value("")))
            .values("value")
            .annotate(
                failed=Count("pk"),
                failed_amount=Sum("amount"),
                recovered_amount=Coalesce(Sum("amount", filter=RECOVERED), 0),
            )
            .order_by("-failed_amount", "value")[:TOP_SEGMENTS]
        )
        currency = filters.currency
        return Table(
            name=f"by_{dimension}",
            title=f"By {label} ({currency})",
            columns=[label, "failed invoices", "failed revenue", "recovered revenue", "rate %"],
            rows=[
                [
                    labels.label(r["value"], kind)
                    if kind and r["value"]
                    else r["value"] or "(none)",
                    r["failed"],
                    major_units(r["failed_amount"], currency),
                    major_units(r["recovered_amount"], currency),
                    rate(r["recovered_amount"], r["failed_amount"]),
                ]
                for r in rows
            ],
            note=f"The {TOP_SEGMENTS} largest by failed revenue.",
            chart={
                "kind": "grouped_bars",
                "x": label,
                "links": [
                    invoices_link(filters=filters, by=dimension, value=r["value"]) for r in rows
                ],
            },
        )

    return cached(name=f"by_{dimension}", key=filters.cache_key, compute=compute)


def recovery_by_decline_code(*, filters: DashboardFilters) -> Table:
    """Every decline code of the period's first failures (no cut-off: the rows add up to the
    headlines), the largest failed revenue first."""

    def compute():
        rows = (
            first_failures(filters=filters)
            .values("decline_code")
            .annotate(
                failed=Count("pk"),
                recovered=Count("pk", filter=RECOVERED),
                failed_amount=Sum("amount"),
                recovered_amount=Coalesce(Sum("amount", filter=RECOVERED), 0),
            )
            .order_by("-failed_amount", "decline_code")
        )
        currency = filters.currency
        return Table(
            name="by_decline_code",
            title=f"By decline code ({currency})",
            columns=["decline code", "failed invoices", "recovered invoices", "rate %",
                     "failed revenue", "recovered revenue"],
            rows=[
                [
                    labels.decline_label(r["decline_code"]) if r["decline_code"] else "No code",
                    r["failed"],
                    r["recovered"],
                    rate(r["recovered_amount"], r["failed_amount"]),
                    major_units(r["failed_amount"], currency),
                    major_units(r["recovered_amount"], currency),
                ]
                for r in rows
            ],
            note="Every decline code of the period; rate = recovered ÷ failed revenue.",
            chart={"kind": "grouped_bars", "x": "decline code", "links": [
                invoices_link(filters=filters, by="decline_code", value=r["decline_code"])
                for r in rows
            ]},
        )  # fmt: skip

    return cached(name="by_decline_code", key=filters.cache_key, compute=compute)


def top_failed_customers(*, user, filters: DashboardFilters, limit: int = TOP_CUSTOMERS):
    """The customers whose invoices that failed in the period still owe the most, with the
    case that governs them (open, else latest), among the customers ``user`` reaches."""
    failed_here = first_failures(filters=filters).values("invoice_cb_id")
    owing = Invoice.objects.filter(cb_id__in=failed_here, amount_due__gt=0, deleted=False)
    rows = list(
        rows_in_reach(user=user, rows=owing)
        .values("customer_id", "customer__company", "customer__first_name",
                "customer__last_name")
        .annotate(amount_due=Sum("amount_due"), invoices=Count("pk"))
        .order_by("-amount_due", "customer_id")[:limit]
    )  # fmt: skip
    cases = governing_case_ids(customer_ids=[r["customer_id"] for r in rows])
    return [
        {
            "customer_id": r["customer_id"],
            "name": r["customer__company"]
            or f"{r['customer__first_name']} {r['customer__last_name']}".strip(),
            "amount_due": r["amount_due"],
            "invoices": r["invoices"],
            "currency": filters.currency,
            "case_id": cases.get(r["customer_id"]),
        }
        for r in rows
    ]


def day_bucket_labels() -> list[str]:
    starts = (0, *RECOVERY_DAY_EDGES)
    labels = [
        f"{a}-{b - 1}" if b - a > 1 else str(a)
        for a, b in zip(starts, RECOVERY_DAY_EDGES, strict=False)
    ]
    return [*labels, f"{RECOVERY_DAY_EDGES[-1]}+"]


def recovery_band():
    """The band of days (its index in ``day_bucket_labels``) a recovered row was paid in."""
    return Case(
        *[
            When(paid_at__lt=F("first_failed_at") + timedelta(days=edge), then=Value(i))
            for i, edge in enumerate(RECOVERY_DAY_EDGES)
        ],
        default=Value(len(RECOVERY_DAY_EDGES)),
    )


def time_to_recovery(*, filters: DashboardFilters) -> Table:
    """How many recovered invoices were paid within each band of days after the first failure."""
    labels = day_bucket_labels()
    band = recovery_band()

    def compute():
        counts = dict(
            first_failures(filters=filters)
            .filter(RECOVERED)
            .annotate(band=band)
            .values("band")
            .annotate(n=Count("pk"))
            .values_list("band", "n")
        )
        return Table(
            name="time_to_recovery",
            title="Days from first failure to recovery",
            columns=["days", "recovered invoices"],
            rows=[[label, counts.get(i, 0)] for i, label in enumerate(labels)],
            chart={
                "kind": "bars",
                "x": "days",
                "links": [invoices_link(filters=filters, days=label) for label in labels],
            },
        )

    return cached(name="time_to_recovery", key=filters.cache_key, compute=compute)


def recovery_path_labels() -> list[str]:
    return list(ATTRIBUTION_LABELS)


def recovery_by_path(*, filters: DashboardFilters) -> Table:
    """Recovered invoices and revenue by what they are credited to (analytics.attribution):
    every label, so the rows add up to the recovered headline."""

    def compute():
        recovered = first_failures(filters=filters).filter(RECOVERED)
        rows = {
            r["path"]: r
            for r in attribution_annotate(recovered)
            .values("path")
            .annotate(recovered=Count("pk"), amount=Sum("amount"))
        }
        tracked = OutboundMessage.objects.filter(
            invoice_id__in=recovered.values("invoice_cb_id"), events__isnull=False
        ).exists()
        currency = filters.currency
        return Table(
            name="by_path",
            title=f"Recovered, credited to what came last ({currency})",
            columns=["credited to", "recovered invoices", "recovered revenue"],
            rows=[
                [
                    label,
                    rows.get(label, {}).get("recovered", 0),
                    major_units(rows.get(label, {}).get("amount", 0), currency),
                ]
                for label in ATTRIBUTION_LABELS
            ],
            note=ATTRIBUTION_RULE
            + (
                ""
                if tracked
                else " No delivery, open or click has been reported for these invoices' "
                "messages yet (docs/connectors.md): an email counts as not seen opened."
            ),
            chart={
                "kind": "bars",
                "x": "credited to",
                "y": "recovered revenue",
                "links": [
                    invoices_link(filters=filters, path=label) for label in ATTRIBUTION_LABELS
                ],
            },
        )

    return cached(name="by_path", key=filters.cache_key, compute=compute)


def involuntary_churn(*, filters: DashboardFilters) -> Table:
    trunc, unit = time_bucket(filters)

    def compute():
        rows = (
            _cancellations(filters=filters)
            .annotate(bucket=trunc("cancelled_at"))
            .values("bucket")
            .annotate(
                involuntary=Count("pk", filter=Q(cancel_reason="not_paid")),
                voluntary=Count("pk", filter=~Q(cancel_reason="not_paid")),
                mrr_lost=Coalesce(Sum("mrr", filter=Q(cancel_reason="not_paid")), 0),
                last=Max("cancelled_at"),
            )
            .order_by("bucket")
        )
        currency = filters.currency
        return Table(
            name="churn",
            title=f"Cancelled subscriptions by {unit}",
            columns=[unit, "involuntary (not paid)", "other cancellations", "MRR lost (not paid)"],
            rows=[
                [
                    r["bucket"].date().isoformat(),
                    r["involuntary"],
                    r["voluntary"],
                    major_units(r["mrr_lost"], currency),
                ]
                for r in rows
            ],
            note=f"Subscriptions in {currency}; a gateway filter does not apply to churn.",
            chart={"kind": "stacked_bars", "x": unit, "y": [
                "involuntary (not paid)", "other cancellations"
            ]},
        )  # fmt: skip

    return cached(name="churn", key=filters.cache_key, compute=compute)


def recovery_tables(*, filters: DashboardFilters) -> dict[str, Table]:
    """Every chart of the dashboard, by name (the CSV link of each chart uses the name)."""
    return {
        table.name: table
        for table in (
            recovery_over_time(filters=filters),
            recovery_by(filters=filters, dimension="decline_category"),
            recovery_by_decline_code(filters=filters),
            recovery_by(filters=filters, dimension="gateway"),
            recovery_by_path(filters=filters),
            recovery_by(filters=filters, dimension="plan"),
            recovery_by(filters=filters, dimension="country"),
            time_to_recovery(filters=filters),
            involuntary_churn(filters=filters),
        )
    }
