"""Keep ``InvoiceFirstAttempt`` equal to what the mirror says, with set-based SQL.

Called by ``dunning.sync.mirror.failures`` for the same invoices as the failure summary (the
two make up the failure rate: failed first attempts out of all first attempts). As there,
each row is derived from the mirror, so it does not matter in which order the payments
arrived: an earlier attempt arriving late simply becomes the first when its invoice's row is
recomputed.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from dunning.models import Customer, Invoice, InvoiceFirstAttempt, Subscription, Transaction

# A payment attempt: a charge that went through or was declined (not one still in progress,
# nor a refund). Retries are attempts too, only not the first.
ATTEMPT_STATUSES = ("success", "failure")

_COLUMNS = (
    "invoice_cb_id",
    "transaction_cb_id",
    "attempted_at",
    "status",
    "currency_code",
    "gateway",
    "plan_id",
    "country",
    "customer_cb_id",
    "subscription_cb_id",
    "refreshed_at",
)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _upsert_sql(*, where: str) -> str:
    """The rows of the invoices ``where`` selects (``where`` filters the payments, ``t``)."""
    txn, inv = _table(Transaction), _table(Invoice)
    sub, cus = _table(Subscription), _table(Customer)
    statuses = ", ".join(f"'{status}'" for status in ATTEMPT_STATUSES)
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "invoice_cb_id")
    # Earliest date, then the Chargebee id (primary keys follow arrival order, so they cannot
    # break ties). Outer joins: a payment counts as an attempt even before its invoice or
    # customer is mirrored; its segments are filled in when they arrive.
    return f"""
        INSERT INTO {_table(InvoiceFirstAttempt)} ({", ".join(_COLUMNS)})
        SELECT a.invoice_id, a.cb_id, a.date, a.status, a.currency_code, a.gateway,
               COALESCE(s.plan_id, ''), COALESCE(c.country, ''), COALESCE(a.customer_id, ''),
               i.subscription_id, %s
        FROM (
            SELECT t.invoice_id, t.cb_id, t.date, t.status, t.currency_code, t.gateway,
                   t.customer_id,
                   ROW_NUMBER() OVER (PARTITION BY t.invoice_id ORDER BY t.date, t.cb_id) AS n
            FROM {txn} t
            WHERE t.type = 'payment' AND t.status IN ({statuses}) AND t.date IS NOT NULL
              AND t.invoice_id IS NOT NULL AND {where}
        ) a
        LEFT JOIN {inv} i ON i.cb_id = a.invoice_id
        LEFT JOIN {sub} s ON s.cb_id = i.subscription_id
        LEFT JOIN {cus} c ON c.cb_id = a.customer_id
        WHERE a.n = 1
        ON CONFLICT (invoice_cb_id) DO UPDATE SET {updates}
    """  # noqa: S608 (table names from the models; values are parameters)


def first_attempts_refresh(*, cursor: CursorWrapper, invoice_ids: list[str], now: datetime) -> None:
    """Recompute the rows of these invoices (one chunk: the caller bounds its size)."""
    marks = ", ".join(["%s"] * len(invoice_ids))
    cursor.execute(_upsert_sql(where=f"t.invoice_id IN ({marks})"), [now, *invoice_ids])
    # An invoice whose only attempt is gone (or is no longer an attempt) drops out.
    InvoiceFirstAttempt.objects.filter(invoice_cb_id__in=invoice_ids).exclude(
        invoice_cb_id__in=Transaction.objects.filter(
            invoice_id__in=invoice_ids,
            type="payment",
            status__in=ATTEMPT_STATUSES,
            date__isnull=False,
        ).values("invoice_id")
    ).delete()


def first_attempts_rebuild(*, now: datetime) -> int:
    """Rebuild every row from the mirror. Returns the row count."""
    with transaction.atomic(), connection.cursor() as cursor:
        InvoiceFirstAttempt.objects.all().delete()
        cursor.execute(_upsert_sql(where="TRUE"), [now])
    return InvoiceFirstAttempt.objects.count()
