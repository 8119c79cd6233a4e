"""Holds on an invoice: while one is in force Dunwell neither retries nor messages about it.

A person places a hold through the collections desk (a customer's promise to pay, a
payment plan Chargebee collects by instalments). The decision policy reads it from the
decision's context and proposes nothing; the executor defers a retry or message that was
already scheduled until the hold ends. What a person asks for on the invoice (collect now,
record a payment) is not held: people stay in charge.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class InvoiceHold(models.Model):
    class Kind(models.TextChoices):
        PROMISE_TO_PAY = "promise_to_pay", "Promise to pay"
        PAYMENT_PLAN = "payment_plan", "Payment plan"

    invoice = models.ForeignKey(
        "Invoice", to_field="cb_id", on_delete=models.PROTECT, related_name="holds"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    until = models.DateTimeField()
    reason = models.CharField(max_length=300)  # one sentence, shown in the decision's reasoning
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-until", "-id"]
        indexes = [
            models.Index(
                fields=["invoice", "until"],
                name="hold_invoice_until",
                condition=models.Q(released_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} hold on {self.invoice_id} until {self.until:%Y-%m-%d}"
