"""Chargebee events as received: the outbox every later step reads from."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class EventState(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    # Some objects of the event mirrored, others could not be: reasons in ``last_error``.
    PARTIAL = "partial", "Processed with warnings"
    STALE = "stale", "Stale (older than the mirror)"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


# States whose mirror writes happened, so what follows (decisions) may read them.
MIRRORED_STATES = (EventState.PROCESSED, EventState.PARTIAL, EventState.STALE)


class ReceivedVia(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    BACKFILL = "backfill", "Backfill"


class ChargebeeEvent(models.Model):
    """One Chargebee event, stored before Chargebee gets its 2xx.

    The row is the outbox: ``state`` says how far processing got, and the relay re-enqueues
    rows whose job was lost. ``event_id`` is unique, which is what makes duplicates harmless.
    """

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=80, db_index=True)
    occurred_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=40, blank=True)
    api_version = models.CharField(max_length=10, blank=True)
    payload = models.JSONField()
    received_via = models.CharField(
        max_length=10, choices=ReceivedVia.choices, default=ReceivedVia.WEBHOOK
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    state = models.CharField(max_length=12, choices=EventState.choices, default=EventState.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "received_at"], name="event_state_received")]
        permissions = [("reprocess_chargebeeevent", "Can reprocess a Chargebee event")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class RejectedWebhook(models.Model):
    """A webhook request that was refused with a 4xx, kept so someone can see why.

    Requests that fail authentication are not kept (only logged): their bodies are untrusted.
    """

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status_code = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=300)
    # Bytes, as declared; a client may declare far more than 2**31 (or 2**63: then only the
    # header text below is kept).
    content_length = models.PositiveBigIntegerField(null=True, blank=True)
    content_length_header = models.CharField(max_length=40, blank=True)
    body_excerpt = models.TextField(blank=True)
    body = models.TextField(blank=True)  # all that was read (at most the 1 MiB bound), masked
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.status_code} {self.reason}"
