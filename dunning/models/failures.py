"""One row per invoice that has failed a payment (``InvoiceFailure``) and one per invoice
that has had a payment attempt (``InvoiceFirstAttempt``): what the dashboards count.

Derived from the mirror (never written by hand): ``dunning.sync.mirror.failures`` recomputes the
rows of the invoices an event touched, in the same transaction as the mirror writes, so a
row is always what the mirror says now, whatever order the events came in. The dashboards
read these narrow tables instead of finding each invoice's first failure, or first attempt,
among all payments.
"""

from __future__ import annotations

from django.db import models


class InvoiceFailure(models.Model):
    invoice_cb_id = models.CharField(max_length=100, unique=True)
    # The mirrored invoice, reached through ``invoice_cb_id`` (no column, no constraint: the
    # summary is rebuilt from the mirror), so that a query joins it and its latest decision.
    invoice = models.ForeignObject(
        "Invoice",
        on_delete=models.DO_NOTHING,
        from_fields=["invoice_cb_id"],
        to_fields=["cb_id"],
        null=True,
        related_name="+",
    )
    customer_cb_id = models.CharField(max_length=100, blank=True)
    subscription_cb_id = models.CharField(max_length=100, blank=True, null=True)
    # The first failed payment (earliest date, then Chargebee id: the same row in any order).
    first_failure_cb_id = models.CharField(max_length=100)
    first_failed_at = models.DateTimeField()
    currency_code = models.CharField(max_length=3, blank=True)
    amount = models.BigIntegerField(default=0)
    decline_category = models.CharField(max_length=100, blank=True)
    decline_code = models.CharField(max_length=100, blank=True)
    gateway = models.CharField(max_length=50, blank=True)
    payment_source_cb_id = models.CharField(max_length=100, blank=True)
    # Segments, copied from the invoice's subscription and customer.
    plan_id = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    # Outcome: paid by payments at or after the first failure, nothing written off.
    paid_at = models.DateTimeField(null=True, blank=True)
    is_recovered = models.BooleanField(default=False)
    is_written_off = models.BooleanField(default=False)
    paid_by_new_method = models.BooleanField(default=False)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Every dashboard query: one currency, a period of first failures. The columns
            # the recovery figures group and add up are carried, so that each of them reads
            # the index alone, not every page of the table for each figure.
            models.Index(
                fields=["currency_code", "first_failed_at"],
                include=[
                    "id",
                    "invoice_cb_id",
                    "amount",
                    "is_recovered",
                    "paid_at",
                    "decline_category",
                    "decline_code",
                    "gateway",
                    "plan_id",
                    "country",
                ],
                name="failure_currency_at",
            ),
            # Every currency (the currency list, the forecast's fallback rates), likewise.
            models.Index(
                fields=["first_failed_at"],
                include=[
                    "id",
                    "currency_code",
                    "amount",
                    "is_recovered",
                    "paid_at",
                    "decline_category",
                ],
                name="failure_at",
            ),
            # The recovered rows alone, with what the split by path and the days to recovery
            # read (analytics.attribution, analytics.recovery_breakdowns): a fifth of the
            # period's rows, and no visit to the table for paid_by_new_method.
            models.Index(
                fields=["currency_code", "first_failed_at"],
                include=[
                    "id",
                    "invoice_cb_id",
                    "amount",
                    "paid_at",
                    "paid_by_new_method",
                    "gateway",
                    "plan_id",
                    "country",
                ],
                condition=models.Q(is_recovered=True),
                name="failure_recovered_at",
            ),
            models.Index(fields=["gateway", "first_failed_at"], name="failure_gateway_at"),
            models.Index(fields=["plan_id", "first_failed_at"], name="failure_plan_at"),
            models.Index(fields=["country", "first_failed_at"], name="failure_country_at"),
            # A decision's outcome (analytics.shadow.with_outcome: the AI impact and rollout
            # pages) joins the recovered rows by invoice: read from this index alone.
            models.Index(
                fields=["invoice_cb_id"],
                include=["paid_at"],
                condition=models.Q(is_recovered=True),
                name="failure_recovered",
            ),
            # A changed customer or subscription refreshes its invoices' segments.
            models.Index(fields=["customer_cb_id"], name="failure_customer"),
            models.Index(fields=["subscription_cb_id"], name="failure_subscription"),
        ]

    def __str__(self) -> str:
        return f"first failure of {self.invoice_cb_id} at {self.first_failed_at:%Y-%m-%d}"


class InvoiceFirstAttempt(models.Model):
    """An invoice's first payment attempt, successful or failed: the failure rate's
    denominator (retries are not first attempts). Not only failed invoices: an invoice paid
    at its first attempt has a row here and none in ``InvoiceFailure``."""

    invoice_cb_id = models.CharField(max_length=100, unique=True)
    # Earliest date, then Chargebee id: the same attempt whatever order events arrive in.
    transaction_cb_id = models.CharField(max_length=100)
    attempted_at = models.DateTimeField()
    status = models.CharField(max_length=20)  # "success" or "failure"
    currency_code = models.CharField(max_length=3, blank=True)
    gateway = models.CharField(max_length=50, blank=True)
    # Segments: the plan of the invoice's subscription, the country of the paying customer
    # (the transaction's), as the dashboard narrowed attempts before this table existed.
    plan_id = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # Kept so that a changed customer or subscription refreshes the rows that copy from it.
    customer_cb_id = models.CharField(max_length=100, blank=True)
    subscription_cb_id = models.CharField(max_length=100, blank=True, null=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The failure rate: one currency, a period, counted by status without the table.
            models.Index(
                fields=["currency_code", "attempted_at"],
                include=["status"],
                name="first_attempt_currency_at",
            ),
            models.Index(fields=["gateway", "attempted_at"], name="first_attempt_gateway_at"),
            models.Index(fields=["plan_id", "attempted_at"], name="first_attempt_plan_at"),
            models.Index(fields=["country", "attempted_at"], name="first_attempt_country_at"),
            models.Index(fields=["customer_cb_id"], name="first_attempt_customer"),
            models.Index(fields=["subscription_cb_id"], name="first_attempt_subscription"),
        ]

    def __str__(self) -> str:
        return f"first attempt of {self.invoice_cb_id} at {self.attempted_at:%Y-%m-%d}"
