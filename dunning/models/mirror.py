"""A local mirror of the Chargebee objects dunning needs.

Each row remembers the ``resource_version`` it was last written from; an older payload
never overwrites a newer one. ``resource_version == 0`` marks a stub: an object known only
because another object points at it. Money is in minor units, as Chargebee sends it.
Payment data is limited to brand, last four digits and expiry: never a card number or CVV.

Foreign keys point at Chargebee ids (``to_field="cb_id"``), so a payload's references are
stored as they come, without a lookup per reference.
"""

from __future__ import annotations

from django.db import models


def cb_reference(model: str, related_name: str, *, null: bool = False) -> models.ForeignKey:
    return models.ForeignKey(
        model,
        to_field="cb_id",
        on_delete=models.PROTECT,
        related_name=related_name,
        null=null,
        blank=null,
    )


class MirrorModel(models.Model):
    cb_id = models.CharField("Chargebee id", max_length=100, unique=True)
    resource_version = models.BigIntegerField(default=0)
    cb_updated_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    mirrored_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.cb_id

    @property
    def is_stub(self) -> bool:
        return self.resource_version == 0


class Customer(MirrorModel):
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    # Chargebee's billing_address object as sent (line1..3, city, state, zip, country).
    billing_address = models.JSONField(default=dict, blank=True)
    company = models.CharField(max_length=250, blank=True)
    locale = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # The rest of the billing address that places the customer in a time zone (see
    # dunning/decisions/timing/time_zones.py); street and city are not kept.
    billing_state_code = models.CharField(max_length=50, blank=True)
    billing_state = models.CharField(max_length=50, blank=True)
    billing_zip = models.CharField(max_length=20, blank=True)
    auto_collection = models.CharField(max_length=5, blank=True)
    net_term_days = models.IntegerField(default=0)
    card_status = models.CharField(max_length=30, blank=True)
    payment_method_type = models.CharField(max_length=40, blank=True)
    payment_method_status = models.CharField(max_length=30, blank=True)
    primary_payment_source_id = models.CharField(max_length=100, blank=True)
    preferred_currency_code = models.CharField(max_length=3, blank=True)
    cb_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The dashboards' country filter offers the values in use: read from this index
        # alone (analytics.dashboards.segment_choices), not from every row of the table.
        indexes = [models.Index(fields=["country"], name="customer_country")]

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.company or self.cb_id


class PaymentSource(MirrorModel):
    customer = cb_reference("Customer", "payment_sources")
    type = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=30, blank=True)
    gateway = models.CharField(max_length=50, blank=True)
    gateway_account_id = models.CharField(max_length=100, blank=True)
    card_brand = models.CharField(max_length=30, blank=True)
    card_funding_type = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_expiry_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_expiry_year = models.PositiveSmallIntegerField(null=True, blank=True)
    issuing_country = models.CharField(max_length=2, blank=True)

    class Meta:
        # The dashboards' gateway filter offers the values in use: read from this index
        # alone (analytics.dashboards.segment_choices), not from every row of the table.
        indexes = [models.Index(fields=["gateway"], name="payment_source_gateway")]


class Subscription(MirrorModel):
    customer = cb_reference("Customer", "subscriptions")
    status = models.CharField(max_length=20, blank=True, db_index=True)
    catalog_version = models.PositiveSmallIntegerField(null=True, blank=True)
    plan_id = models.CharField(max_length=100, blank=True)
    billing_period = models.PositiveIntegerField(null=True, blank=True)
    billing_period_unit = models.CharField(max_length=10, blank=True)
    currency_code = models.CharField(max_length=3, blank=True)
    mrr = models.BigIntegerField(null=True, blank=True)
    auto_collection = models.CharField(max_length=5, blank=True)
    due_invoices_count = models.IntegerField(default=0)
    due_since = models.DateTimeField(null=True, blank=True)
    total_dues = models.BigIntegerField(default=0)
    current_term_end = models.DateTimeField(null=True, blank=True)
    next_billing_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=50, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The dashboards' plan filter offers the values in use: read from this index
        # alone (analytics.dashboards.segment_choices), not from every row of the table.
        indexes = [models.Index(fields=["plan_id"], name="subscription_plan")]


# An invoice Chargebee still tries to collect (a paid, voided or only posted one is not).
DUE_STATUSES = ("payment_due", "not_paid")


class Invoice(MirrorModel):
    customer = cb_reference("Customer", "invoices")
    subscription = cb_reference("Subscription", "invoices", null=True)
    status = models.CharField(max_length=20, blank=True, db_index=True)
    dunning_status = models.CharField(max_length=20, blank=True, db_index=True)
    recurring = models.BooleanField(default=True)
    currency_code = models.CharField(max_length=3, blank=True)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_to_collect = models.BigIntegerField(default=0)
    credits_applied = models.BigIntegerField(default=0)
    write_off_amount = models.BigIntegerField(default=0)
    date = models.DateTimeField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # Set while Chargebee's dunning is paused (pause_dunning): Chargebee has no "paused"
    # dunning_status; the invoice stays in_progress and waits for this date.
    expected_payment_date = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    dunning_attempts = models.JSONField(default=list, blank=True)
    # Not from Chargebee: the invoice's latest decision (latest ``as_of``, then highest id)
    # and its latest one with a recovery score, kept by ``dunning.decisions.latest`` in the
    # transaction that records a decision. Dashboards join them instead of searching every
    # open invoice's decisions for its latest.
    latest_decision = models.ForeignKey(
        "Decision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    latest_scored_decision = models.ForeignKey(
        "Decision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "dunning_status"], name="invoice_dunning"),
            # Who owes most among the invoices that failed in a period: the few invoices
            # still owing, read from the index alone (not the whole table for each period).
            models.Index(
                fields=["cb_id"],
                include=["customer_id", "amount_due"],
                condition=models.Q(amount_due__gt=0, deleted=False),
                name="invoice_owing",
            ),
            # The invoices in dunning now (analytics.queries.IN_DUNNING), counted and summed
            # per currency and matched to the failure summary and their latest decisions
            # from the index alone.
            models.Index(
                fields=["currency_code"],
                include=["id", "cb_id", "amount_due", "latest_decision", "latest_scored_decision"],
                condition=models.Q(
                    status__in=DUE_STATUSES, dunning_status="in_progress", deleted=False
                ),
                name="invoice_in_dunning",
            ),
        ]


class Transaction(MirrorModel):
    customer = cb_reference("Customer", "transactions", null=True)
    invoice = cb_reference("Invoice", "transactions", null=True)
    subscription_cb_id = models.CharField(max_length=100, blank=True)
    linked_invoice_ids = models.JSONField(default=list, blank=True)
    type = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, blank=True, db_index=True)
    amount = models.BigIntegerField(default=0)
    currency_code = models.CharField(max_length=3, blank=True)
    date = models.DateTimeField(null=True, blank=True, db_index=True)
    gateway = models.CharField(max_length=50, blank=True)
    gateway_account_id = models.CharField(max_length=100, blank=True)
    payment_method = models.CharField(max_length=40, blank=True)
    payment_source_cb_id = models.CharField(max_length=100, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_text = models.CharField(max_length=500, blank=True)
    error_category = models.CharField(max_length=100, blank=True)
    decline_code = models.CharField(max_length=100, blank=True)
    decline_message = models.CharField(max_length=500, blank=True)
    network_error_code = models.CharField(max_length=100, blank=True)
    processor_advice_code = models.CharField(max_length=20, blank=True)
    recommendation_code = models.CharField(max_length=100, blank=True)
    error_detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # Gateway health over the last minutes; a card's attempts over 30 days.
            models.Index(fields=["gateway", "date"], name="txn_gateway_date"),
            models.Index(fields=["payment_source_cb_id", "date"], name="txn_card_date"),
        ]
