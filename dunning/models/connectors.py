"""Connectors to the team's own tools: their health, and the webhooks they send us."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ConnectorHealth(models.Model):
    """The last success and the last failure of each connector (one row per connector)."""

    connector = models.CharField(max_length=40, unique=True)  # "salesforce", "zendesk", ...
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_failure_reason = models.CharField(max_length=500, blank=True)
    successes = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["connector"]
        permissions = [
            ("view_connections", "Can see the connections to the team's tools"),
            ("change_connections", "Can change the connections to the team's tools"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} health"

    @property
    def failing(self) -> bool:
        """The latest call failed (a failure after the last success)."""
        if self.last_failure_at is None:
            return False
        return self.last_success_at is None or self.last_failure_at > self.last_success_at


class ConnectorEvent(models.Model):
    """A webhook from a connected tool, stored before it is acknowledged (then processed)."""

    vendor = models.CharField(max_length=20)  # "stripe", "zendesk"
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "event_id"], name="connector_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.event_type} {self.event_id}"
