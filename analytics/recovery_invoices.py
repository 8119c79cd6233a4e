"""The invoices behind one bar or point of the recovery dashboard.

A chart's bucket is the dashboard's filters plus at most one segment value (``by`` and
``value``: a decline code, category, gateway, plan or country; an empty value is "none"),
a time bucket (``bucket``: the day, week or month of first failure the chart groups by) and
an ``outcome`` (recovered or not). Every link a chart or table draws is built here, so a
click opens exactly the invoices its figure counts.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery

from analytics.attribution import attribution_annotate
from analytics.filters import DashboardFilters, FilterError
from analytics.recovery import RECOVERED, first_failures
from analytics.recovery_breakdowns import (
    DIMENSIONS,
    day_bucket_labels,
    recovery_band,
    recovery_path_labels,
    time_bucket,
)
from collections_desk.access import governing_case_ids, rows_in_reach
from dunning.decisions import labels
from dunning.helpers.money import amount_text
from dunning.models import Invoice

# ``by`` -> (field on a first-failure row, what people call it, how its values read)
BY = {
    **{name: (field, label, kind) for name, (field, label, kind) in DIMENSIONS.items()},
    "decline_code": ("decline_code", "decline code", "decline"),
}
OUTCOMES = {"recovered": "recovered", "not_recovered": "not recovered"}
BUCKET_PARAMS = frozenset({"by", "value", "bucket", "outcome", "days", "path", "page"})


@dataclass(frozen=True)
class InvoiceBucket:
    by: str = ""
    value: str = ""
    bucket: date | None = None
    outcome: str = ""
    days: str = ""  # a band of days from first failure to recovery ("3-4", "60+")
    path: str = ""  # how a recovered invoice was paid

    def words(self, *, filters: DashboardFilters) -> list[str]:
        """The bucket as people read it: "Decline code: Expired card (54)", "Week of 3 Nov"."""
        parts = []
        if self.by:
            _, name, kind = BY[self.by]
            parts.append(f"{name.capitalize()}: {value_words(self.value, kind)}")
        if self.bucket:
            parts.append(f"{time_bucket(filters)[1].capitalize()} of {self.bucket:%-d %b %Y}")
        if self.outcome:
            parts.append(OUTCOMES[self.outcome].capitalize())
        if self.days:
            parts.append(f"Days to recovery: {self.days}")
        if self.path:
            parts.append(f"Path: {self.path}")
        return parts


def value_words(value: str, kind: str) -> str:
    if not value:
        return "No code" if kind == "decline" else "None"
    if kind == "decline":
        return labels.decline_label(value)
    return labels.label(value, kind) if kind else value


def bucket_parse(*, params) -> InvoiceBucket:
    """The bucket a link names; raises FilterError saying what is wrong."""
    by = params.get("by", "")
    if by and by not in BY:
        raise FilterError(f"By: one of {', '.join(sorted(BY))}.")
    if "value" in params and not by:
        raise FilterError("A value needs a by (what the value is of).")
    outcome = params.get("outcome", "")
    if outcome and outcome not in OUTCOMES:
        raise FilterError("Outcome: recovered or not_recovered.")
    bucket = None
    if params.get("bucket"):
        try:
            bucket = date.fromisoformat(params["bucket"])
        except ValueError:
            raise FilterError("Bucket: a date such as 2026-11-02.") from None
    days, path = params.get("days", ""), params.get("path", "")
    if days and days not in day_bucket_labels():
        raise FilterError(f"Days: one of {', '.join(day_bucket_labels())}.")
    if path and path not in recovery_path_labels():
        raise FilterError(f"Path: one of {', '.join(recovery_path_labels())}.")
    return InvoiceBucket(
        by=by,
        value=params.get("value", ""),
        bucket=bucket,
        outcome=outcome,
        days=days,
        path=path,
    )


def _bucket_end(start: datetime, unit: str) -> datetime:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def recovery_invoices_page(*, user, filters: DashboardFilters, bucket: InvoiceBucket) -> QuerySet:
    """The period's first failures in the bucket whose customer ``user`` reaches, newest
    first, each with what its invoice still owes."""
    rows = first_failures(filters=filters)
    if bucket.by:
        rows = rows.filter(**{BY[bucket.by][0]: bucket.value})
    if bucket.bucket:
        start = datetime.combine(bucket.bucket, datetime.min.time(), tzinfo=UTC)
        end = _bucket_end(start, time_bucket(filters)[1])
        rows = rows.filter(first_failed_at__gte=start, first_failed_at__lt=end)
    if bucket.outcome == "recovered":
        rows = rows.filter(RECOVERED)
    elif bucket.outcome == "not_recovered":
        rows = rows.exclude(RECOVERED)
    if bucket.days:
        band = day_bucket_labels().index(bucket.days)
        rows = rows.filter(RECOVERED).annotate(band=recovery_band()).filter(band=band)
    if bucket.path:
        rows = attribution_annotate(rows.filter(RECOVERED)).filter(path=bucket.path)
    due = Invoice.objects.filter(cb_id=OuterRef("invoice_cb_id")).values("amount_due")[:1]
    rows = rows.annotate(amount_due=Subquery(due))
    return rows_in_reach(user=user, rows=rows, customer_field="customer_cb_id").order_by(
        "-first_failed_at", "invoice_cb_id"
    )


def outcome_words(row) -> str:
    if row.is_recovered:
        return f"Recovered {row.paid_at:%-d %b %Y}" if row.paid_at else "Recovered"
    if row.is_written_off:
        return "Written off"
    return "Not recovered"


@dataclass(frozen=True)
class InvoiceRow:
    """One failed invoice as the list shows it: labels, not codes."""

    invoice_id: str
    customer_id: str
    case_id: int | None
    first_failed_at: datetime
    currency: str
    amount: int
    amount_due: int | None
    decline: str
    category: str
    gateway: str
    outcome: str


def recovery_invoice_rows(failures: Iterable) -> list[InvoiceRow]:
    failures = list(failures)
    cases = governing_case_ids(customer_ids=[f.customer_cb_id for f in failures])
    return [
        InvoiceRow(
            invoice_id=f.invoice_cb_id,
            customer_id=f.customer_cb_id,
            case_id=cases.get(f.customer_cb_id),
            first_failed_at=f.first_failed_at,
            currency=f.currency_code,
            amount=f.amount,
            amount_due=f.amount_due,
            decline=value_words(f.decline_code, "decline"),
            category=value_words(f.decline_category, "category"),
            gateway=value_words(f.gateway, "gateway"),
            outcome=outcome_words(f),
        )
        for f in failures
    ]


CSV_COLUMNS = [
    "invoice",
    "customer",
    "first failed at",
    "currency",
    "amount",
    "still due",
    "decline code",
    "decline category",
    "gateway",
    "outcome",
]


def invoice_csv_lines(failures: QuerySet) -> Iterator[str]:
    """Every invoice of the bucket (not only one page), in chunks, with labels."""

    class Line:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Line())
    yield writer.writerow(CSV_COLUMNS)
    chunk: list = []
    for failure in failures.iterator(chunk_size=500):
        chunk.append(failure)
        if len(chunk) == 500:
            yield from _csv_rows(writer, chunk)
            chunk = []
    yield from _csv_rows(writer, chunk)


def _csv_rows(writer, failures: list) -> Iterator[str]:
    for row in recovery_invoice_rows(failures):
        yield writer.writerow(
            [
                row.invoice_id,
                row.customer_id,
                row.first_failed_at.isoformat(),
                row.currency,
                amount_text(row.amount, row.currency),
                "" if row.amount_due is None else amount_text(row.amount_due, row.currency),
                row.decline,
                row.category,
                row.gateway,
                row.outcome,
            ]
        )
