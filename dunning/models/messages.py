"""Messages Dunwell sends to customers, and the versioned prompts the LLM drafter uses.

An ``OutboundMessage`` is the local outbox and the record of what was sent: the body is the
text exactly as it went out (placeholders filled, so it holds PII: staff only). At most one
message per action, so delivering an action twice never messages the customer twice.
"""

from __future__ import annotations

from django.db import models

from dunning.models.versioned import VersionedDocument


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    IN_APP = "in_app", "In-app"


class Purpose(models.TextChoices):
    RETRY_SCHEDULED = "retry_scheduled", "Payment failed, retry scheduled"
    PAYMENT_METHOD_UPDATE = "payment_method_update", "Update the payment method"
    AUTHENTICATION_NEEDED = "authentication_needed", "Authenticate the payment"
    OFFLINE_REMINDER = "offline_reminder", "Offline payment reminder"
    FINAL_NOTICE = "final_notice", "Final notice"
    CSAT_SURVEY = "csat_survey", "Satisfaction survey"
    # An offline payer's reminder sequence, step by step
    # (dunning/decisions/policy_settings/offline_reminders.py).
    OFFLINE_DUE = "offline_due", "Offline payer: invoice due"
    OFFLINE_FOLLOW_UP = "offline_follow_up", "Offline payer: first follow-up"
    OFFLINE_SECOND_FOLLOW_UP = "offline_second_follow_up", "Offline payer: second follow-up"
    OFFLINE_FINAL_NOTICE = "offline_final_notice", "Offline payer: final notice"
    # Before a renewal likely to fail (analytics/at_risk): nothing is owed yet.
    PRE_DUNNING_CARD_UPDATE = "pre_dunning_card_update", "Before the renewal: update the card"


class Delivery(models.TextChoices):
    """A provider's word for where the message is, from its webhooks (later states win)."""

    QUEUED = "queued", "queued at the provider"
    SENT = "sent", "handed to the carrier"
    DELIVERED = "delivered", "delivered"
    UNDELIVERED = "undelivered", "not delivered"
    FAILED = "failed", "the provider could not send it"
    BOUNCED = "bounced", "bounced"


class OutboundMessage(models.Model):
    class Status(models.TextChoices):
        SENDING = "sending", "Sending"  # claimed; the adapter has not answered yet
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will be tried again)"
        # Its action was cancelled before a retry of the send (paid, or a newer decision).
        WITHDRAWN = "withdrawn", "Withdrawn (not sent)"

    action = models.OneToOneField(
        "Action", on_delete=models.PROTECT, null=True, blank=True, related_name="message"
    )
    customer = models.ForeignKey(
        "Customer", to_field="cb_id", on_delete=models.PROTECT, related_name="messages"
    )
    invoice = models.ForeignKey(
        "Invoice",
        to_field="cb_id",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    recipient = models.CharField(max_length=254)  # address, phone number or customer id
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=60, blank=True)  # "local outbox", backend, URL host
    provider_id = models.CharField(max_length=200, blank=True)
    # How the text was written: the drafter, the model behind it, the prompt version.
    drafter = models.CharField(max_length=20)
    model = models.CharField(max_length=120, blank=True)
    prompt_template = models.ForeignKey(
        "PromptTemplate", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    prompt_version = models.PositiveIntegerField(null=True, blank=True)  # 0: built-in default
    fallback_reason = models.CharField(max_length=500, blank=True)
    # What the provider said after it took the message (its delivery, open and click
    # webhooks, docs/connectors.md): the latest delivery state and the first open and click.
    delivery = models.CharField(max_length=12, choices=Delivery.choices, blank=True)
    delivery_detail = models.CharField(max_length=300, blank=True)  # an error code, a bounce
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The weekly contact limit counts a customer's recent messages.
            models.Index(fields=["customer", "status", "sent_at"], name="message_contacts"),
            models.Index(fields=["-created_at"], name="message_recent"),
            # Delivery webhooks find their message by the provider's id.
            models.Index(fields=["provider_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.customer_id} ({self.status})"


class PromptTemplate(VersionedDocument):
    """One version of the LLM drafter's prompt for a purpose and channel; never edited."""

    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["purpose", "channel", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "channel", "version"], name="prompt_version_unique"
            ),
            models.UniqueConstraint(
                fields=["purpose", "channel"],
                condition=models.Q(active=True),
                name="one_active_prompt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel} v{self.version}"


class MessageEvent(models.Model):
    """One provider webhook about a message (a delivery, an open, a click), once per event."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="events")
    source = models.OneToOneField(
        "ConnectorEvent", on_delete=models.PROTECT, related_name="message_event"
    )
    provider = models.CharField(max_length=20)  # "twilio", "postmark", "sendgrid", ...
    kind = models.CharField(max_length=20)  # queued, sent, delivered, ..., opened, clicked
    at = models.DateTimeField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "kind", "at"], name="message_event_kind")]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} on message {self.message_id}"
