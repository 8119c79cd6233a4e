"""Recovery broken down: over time, by plan, country, gateway and decline code, by the path
that recovered it, by time to recovery, and involuntary churn (definitions in
``analytics.recovery``). Each is one aggregate query over ``InvoiceFailure`` returning a
cached ``Table``.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    F,
    Max,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek

from analytics.attribution import ATTRIBUTION_LABELS, ATTRIBUTION_RULE, attribution_totals
from analytics.filters import DashboardFilters
from analytics.recovery import (
    RECOVERED,
    RECOVERY_DAY_EDGES,
    TOP_CUSTOMERS,
    TOP_SEGMENTS,
    cancellations_of,
    first_failures,
    invoices_link,
)
from analytics.tables import Table, cached, major_units, rate
from collections_desk.access import governing_case_ids, rows_in_reach
from dunning.decisions import labels
from dunning.models import Customer, Invoice, OutboundMessage


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


SEGMENT_FIELDS = ("decline_category", "decline_code", "gateway", "plan_id", "country")


def _segment_cells(*, filters: DashboardFilters) -> list[dict]:
    """The period's first failures grouped by every breakdown's field at once. Each breakdown
    adds these cells up by its own field: one scan of the period for all five, not one each.
    The cells are the combinations that occur (a few hundred at 40,000 failures: codes,
    gateways, plans and countries are each a handful to a few dozen)."""

    def compute():
        return list(
            first_failures(filters=filters)
            .values(*SEGMENT_FIELDS)
            .annotate(
                failed=Count("pk"),
                recovered=Count("pk", filter=RECOVERED),
                failed_amount=Sum("amount"),
                recovered_amount=Coalesce(Sum("amount", filter=RECOVERED), 0),
            )
            .order_by()
        )

    return cached(name="segment_cells", key=filters.cache_key, compute=compute)


_ADDED_UP = ("failed", "recovered", "failed_amount", "recovered_amount")


def _segment_totals(*, filters: DashboardFilters, field: str, limit: int | None = None):
    """The cells added up by ``field``: {"value", "failed", "recovered", "failed_amount",
    "recovered_amount"} per value, the largest failed revenue first, then by value (as the
    database orders them: its collation, C.UTF-8, and SQLite's compare by code point)."""
    totals: dict[str, dict] = {}
    for cell in _segment_cells(filters=filters):
        value = cell[field] or ""
        row = totals.setdefault(value, {"value": value, **dict.fromkeys(_ADDED_UP, 0)})
        for name in _ADDED_UP:
            row[name] += cell[name] or 0
    rows = sorted(totals.values(), key=lambda r: (-r["failed_amount"], r["value"]))
    return rows[:limit] if limit is not None else rows


def _value_label(value: str, kind: str) -> str:
    if not value:
        return "(none)"
    return labels.label(value, kind) if kind else value


def recovery_by(*, filters: DashboardFilters, dimension: str) -> Table:
    """Failed and recovered revenue per value of one dimension (the largest first)."""
    field, label, kind = DIMENSIONS[dimension]

    def compute():
        rows = _segment_totals(filters=filters, field=field, limit=TOP_SEGMENTS)
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
        rows = [
            {**r, "decline_code": r["value"]}
            for r in _segment_totals(filters=filters, field="decline_code")
        ]
        currency = filters.currency
        return Table(
            name="by_decline_code",
            title=f"By decline code ({currency})",
            columns=[
                "decline code",
                "failed invoices",
                "recovered invoices",
                "rate %",
                "failed revenue",
                "recovered revenue",
            ],
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
            chart={
                "kind": "grouped_bars",
                "x": "decline code",
                "links": [
                    invoices_link(filters=filters, by="decline_code", value=r["decline_code"])
                    for r in rows
                ],
            },
        )

    return cached(name="by_decline_code", key=filters.cache_key, compute=compute)


def top_failed_customers(*, user, filters: DashboardFilters, limit: int = TOP_CUSTOMERS):
    """The customers whose invoices that failed in the period still owe the most, with the
    case that governs them (open, else latest), among the customers ``user`` reaches."""
    failed_here = first_failures(filters=filters).values("invoice_cb_id")
    owing = Invoice.objects.filter(cb_id__in=failed_here, amount_due__gt=0, deleted=False)
    # Grouped by the customer's id alone, and COUNT(*): the index of owing invoices holds all
    # this reads; the names are looked up for the few customers shown, not for every one.
    rows = list(
        rows_in_reach(user=user, rows=owing)
        .values("customer_id")
        .annotate(amount_due=Sum("amount_due"), invoices=Count("*"))
        .order_by("-amount_due", "customer_id")[:limit]
    )
    customer_ids = [r["customer_id"] for r in rows]
    names = {
        cb_id: company or f"{first_name} {last_name}".strip()
        for cb_id, company, first_name, last_name in Customer.objects.filter(
            cb_id__in=customer_ids
        ).values_list("cb_id", "company", "first_name", "last_name")
    }
    cases = governing_case_ids(customer_ids=customer_ids)
    return [
        {
            "customer_id": r["customer_id"],
            "name": names.get(r["customer_id"], ""),
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
        rows = attribution_totals(recovered)
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
            cancellations_of(filters=filters)
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
            chart={
                "kind": "stacked_bars",
                "x": unit,
                "y": ["involuntary (not paid)", "other cancellations"],
            },
        )

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
