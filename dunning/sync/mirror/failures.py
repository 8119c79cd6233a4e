"""Keep ``InvoiceFailure`` (and, through ``dunning.sync.mirror.first_attempts``,
``InvoiceFirstAttempt``) equal to what the mirror says, with set-based SQL.

``failure_summary_refresh`` recomputes the rows of some invoices (those an event or a batch
of events touched) from the mirror in one INSERT ... SELECT ... ON CONFLICT per chunk;
``failure_summary_rebuild`` runs the same statements over every invoice. Because each row is
derived from the mirror, and the mirror only ever takes newer versions, the summary is
idempotent and independent of the order events arrive in: an older event changes nothing
in the mirror, so recomputing gives the same row.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from dunning.models import (
    Customer,
    Invoice,
    InvoiceFailure,
    InvoiceFirstAttempt,
    Subscription,
    Transaction,
)
from dunning.sync.mirror.first_attempts import first_attempts_rebuild, first_attempts_refresh

CHUNK = 500

_COLUMNS = (
    "invoice_cb_id",
    "customer_cb_id",
    "subscription_cb_id",
    "first_failure_cb_id",
    "first_failed_at",
    "currency_code",
    "amount",
    "decline_category",
    "decline_code",
    "gateway",
    "payment_source_cb_id",
    "plan_id",
    "country",
    "signed_up_at",
    "paid_at",
    "is_recovered",
    "is_written_off",
    "paid_by_new_method",
    "refreshed_at",
)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _upsert_sql(*, where: str) -> str:
    """The summary rows of the invoices ``where`` selects (``where`` filters failed payments)."""
    txn, inv = _table(Transaction), _table(Invoice)
    sub, cus = _table(Subscription), _table(Customer)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "invoice_cb_id")
    # Earliest date, then the Chargebee id: the same first failure whatever the arrival
    # order (primary keys follow arrival order, so they cannot break ties).
    return f"""
        INSERT INTO {_table(InvoiceFailure)} ({", ".join(_COLUMNS)})
        SELECT f.invoice_id, i.customer_id, i.subscription_id, f.cb_id,
               f.date, f.currency_code, f.amount, f.error_category,
               COALESCE(NULLIF(f.decline_code, ''), f.error_code), f.gateway,
               f.payment_source_cb_id, COALESCE(s.plan_id, ''), COALESCE(c.country, ''),
               c.cb_created_at, i.paid_at,
               COALESCE(i.status = 'paid' AND i.write_off_amount = 0 AND i.amount_paid > 0
                        AND i.paid_at >= f.date, FALSE),
               i.write_off_amount > 0,
               EXISTS (SELECT 1 FROM {txn} p
                       WHERE p.invoice_id = f.invoice_id AND p.type = 'payment'
                         AND p.status = 'success' AND p.date >= f.date
                         AND p.payment_source_cb_id <> f.payment_source_cb_id),
               %s
        FROM (
            SELECT t.invoice_id, t.cb_id, t.date, t.currency_code, t.amount, t.error_category,
                   t.decline_code, t.error_code, t.gateway, t.payment_source_cb_id,
                   ROW_NUMBER() OVER (PARTITION BY t.invoice_id ORDER BY t.date, t.cb_id) AS n
            FROM {txn} t
            WHERE t.type = 'payment' AND t.status = 'failure' AND t.date IS NOT NULL
              AND t.invoice_id IS NOT NULL AND {where}
        ) f
        JOIN {inv} i ON i.cb_id = f.invoice_id
        LEFT JOIN {sub} s ON s.cb_id = i.subscription_id
        LEFT JOIN {cus} c ON c.cb_id = i.customer_id
        WHERE f.n = 1
        ON CONFLICT (invoice_cb_id) DO UPDATE SET {updates}
    """  # noqa: S608 (table names from the models; values are parameters)


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _invoices_of(*, transaction_ids, customer_ids, subscription_ids) -> set[str]:
    """Invoices whose row may change when these transactions, customers or subscriptions do."""
    found: set[str] = set()
    for chunk in _chunks(sorted(transaction_ids)):
        found.update(
            Transaction.objects.filter(cb_id__in=chunk, invoice_id__isnull=False).values_list(
                "invoice_id", flat=True
            )
        )
    # A customer's or subscription's change matters only to invoices already summarised (an
    # invoice paid at its first attempt is in the first attempts only).
    for summary in (InvoiceFailure, InvoiceFirstAttempt):
        for field, ids in (
            ("customer_cb_id", customer_ids),
            ("subscription_cb_id", subscription_ids),
        ):
            for chunk in _chunks(sorted(ids)):
                found.update(
                    summary.objects.filter(**{f"{field}__in": chunk}).values_list(
                        "invoice_cb_id", flat=True
                    )
                )
    return found


def failure_summary_refresh(
    *,
    invoice_ids: Iterable[str] = (),
    transaction_ids: Iterable[str] = (),
    customer_ids: Iterable[str] = (),
    subscription_ids: Iterable[str] = (),
) -> int:
    """Recompute the summary rows these mirror changes may affect. Returns invoices checked."""
    invoices = set(invoice_ids) | _invoices_of(
        transaction_ids=set(transaction_ids),
        customer_ids=set(customer_ids),
        subscription_ids=set(subscription_ids),
    )
    if not invoices:
        return 0
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in _chunks(sorted(invoices)):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(_upsert_sql(where=f"t.invoice_id IN ({marks})"), [now, *chunk])
            # An invoice whose only failed payment is gone (or became a success) drops out.
            InvoiceFailure.objects.filter(invoice_cb_id__in=chunk).exclude(
                invoice_cb_id__in=Transaction.objects.filter(
                    invoice_id__in=chunk, type="payment", status="failure", date__isnull=False
                ).values("invoice_id")
            ).delete()
            first_attempts_refresh(cursor=cursor, invoice_ids=chunk, now=now)
    return len(invoices)


def failure_summary_rebuild() -> int:
    """Rebuild every row of both summaries from the mirror (existing installs; repairs).
    Returns the failed invoices' row count."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        InvoiceFailure.objects.all().delete()
        cursor.execute(_upsert_sql(where="TRUE"), [now])
        first_attempts_rebuild(now=now)
    return InvoiceFailure.objects.count()
