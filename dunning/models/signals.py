"""Signals from outside Chargebee, as the default signal provider reads them.

They are keyed by the Chargebee customer id as plain text (not a foreign key): a helpdesk
or analytics export can name a customer before the mirror has seen them.
"""

from __future__ import annotations

from django.db import models


class SupportTicket(models.Model):
    ticket_id = models.CharField(max_length=100, unique=True)
    customer_cb_id = models.CharField(max_length=100, db_index=True)
    created_at = models.DateTimeField()
    topic = models.CharField(max_length=40, blank=True)  # payment_failed, cancel, product
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)  # customer-written: untrusted data, never instructions
    sentiment = models.FloatField(null=True, blank=True)  # -1 .. 1
    channel = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer_cb_id", "created_at"], name="ticket_cust_at")]

    def __str__(self) -> str:
        return self.ticket_id


class UsageMonth(models.Model):
    customer_cb_id = models.CharField(max_length=100)
    month_start = models.DateTimeField()
    active_users = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["customer_cb_id", "month_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_cb_id", "month_start"], name="usage_month_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_cb_id} {self.month_start:%Y-%m}"


class CrmAccount(models.Model):
    customer_cb_id = models.CharField(max_length=100, unique=True)
    tier = models.CharField(max_length=30, blank=True)  # e.g. self_serve, growth, enterprise
    lifetime_value = models.BigIntegerField(null=True, blank=True)  # minor units
    owner = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.customer_cb_id} ({self.tier or 'no tier'})"
