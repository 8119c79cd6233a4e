"""Every message's life as people read it: drafted, waiting (why, until when in the
customer's own time), on its way, sent (then delivered, opened, clicked, or not delivered,
as the provider's webhooks said), failed, withdrawn.

One answer for the outbox, the case page, the invoice page and what a person is told when
they ask for a message: it comes from the action and its message row, and for what has not
gone yet, from the same checks delivery makes (quiet hours, the contact limit, holds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from dunning.actions.channels.case_context import (
    MESSAGE_KINDS,
    UNKNOWN_ZONE_FALLBACK,
    DeliveryRefused,
    case_read,
)
from dunning.actions.channels.delivery import delivery_wait
from dunning.actions.channels.preview import LINKS_SHOWN
from dunning.decisions.policy_settings.channel_settings import channel_settings_read
from dunning.decisions.timing.time_zones import billing_time_zone
from dunning.models import Action, ActionState, AutomationMode, Delivery, OutboundMessage

PENDING = (ActionState.PROPOSED, ActionState.APPROVED, ActionState.SCHEDULED)


@dataclass(frozen=True)
class MessageLife:
    state: str  # drafted, waiting, on_its_way, sending, sent, undelivered, failed, withdrawn
    label: str
    reason: str = ""
    until: datetime | None = None
    time_zone: str = ""

    @property
    def until_local(self) -> str:
        """ "08:00 Tue 3 Dec customer time (Europe/Berlin)" """
        if self.until is None:
            return ""
        zone = self.time_zone or "UTC"
        local = self.until.astimezone(ZoneInfo(zone))
        return f"{local:%H:%M} {local:%a} {local.day} {local:%b} customer time ({zone})"

    def sentence(self) -> str:
        words = self.label + (f": {self.reason}" if self.reason else "")
        return words + (f", until {self.until_local}" if self.until else "")


def _zone(action: Action) -> str:

    return billing_time_zone(action.customer).zone or UNKNOWN_ZONE_FALLBACK


def message_wait_ahead(*, action: Action, now: datetime | None = None) -> MessageLife | None:
    """If a message sent now would wait (quiet hours, contact limit), why and until when;
    if it would not be sent at all, why (state "refused")."""
    now = now or timezone.now()
    if action.kind not in MESSAGE_KINDS:
        return None
    try:
        case = case_read(action=action, links=LINKS_SHOWN, channel=action.channel)
    except DeliveryRefused as refused:
        return MessageLife("refused", "will not be sent", str(refused))
    wait = delivery_wait(case, now=now, current=channel_settings_read())
    if wait is None:
        return None
    if wait.status != "deferred":
        return MessageLife("refused", "will not be sent", wait.reason)
    return MessageLife("waiting", "waiting", wait.reason, wait.retry_at, case.time_zone)


def message_life(
    *, action: Action, message: OutboundMessage | None = None, now: datetime | None = None
) -> MessageLife:
    """Where ``action``'s message is in its life, in words."""
    now = now or timezone.now()
    if message is None:
        message = OutboundMessage.objects.filter(action=action).first()
    if message is not None and message.status == OutboundMessage.Status.SENT and message.delivery:
        return _after_sending(message)
    if message is not None and message.status != OutboundMessage.Status.FAILED:
        label = {"sending": "sending", "sent": "sent", "withdrawn": "withdrawn"}[message.status]
        reason = message.error if message.status == OutboundMessage.Status.WITHDRAWN else ""
        return MessageLife(message.status, label, reason)
    if action.state in (ActionState.CANCELLED, ActionState.REJECTED):
        why = action.rejection_reason or str(action.result.get("cancelled", ""))
        return MessageLife("withdrawn", "withdrawn", why)
    if message is not None:  # failed; the executor tries again
        return MessageLife(
            "failed", "failed, tried again", message.error, action.next_attempt_at, _zone(action)
        )
    if action.state == ActionState.EXECUTED:
        return MessageLife("sent", "sent")
    if action.state == ActionState.FAILED:
        return MessageLife("failed", "failed", action.last_error)
    if action.state == ActionState.PROPOSED:
        return MessageLife("drafted", "drafted, waiting for approval", action.approval_reason)
    if action.next_attempt_at and action.next_attempt_at > now and action.last_error:
        return MessageLife(
            "waiting", "waiting", action.last_error, action.next_attempt_at, _zone(action)
        )
    if action.scheduled_for and action.scheduled_for > now:
        return MessageLife(
            "waiting", "waiting", "planned for later", action.scheduled_for, _zone(action)
        )
    return message_wait_ahead(action=action, now=now) or MessageLife("on_its_way", "on its way")


NOT_DELIVERED = (Delivery.UNDELIVERED, Delivery.FAILED, Delivery.BOUNCED)


def delivery_words(message: OutboundMessage) -> str:
    """What the provider said after it took the message: "delivered, opened, link clicked",
    "bounced: <its reason>", "" when it said nothing (no webhooks, or the local outbox)."""
    if not message.delivery:
        return ""
    words = [Delivery(message.delivery).label]
    if message.clicked_at:
        words.append("opened, link clicked")
    elif message.opened_at:
        words.append("opened")
    said = ", ".join(words)
    return f"{said}: {message.delivery_detail}" if message.delivery_detail else said


def _after_sending(message: OutboundMessage) -> MessageLife:
    if message.delivery in NOT_DELIVERED:
        return MessageLife("undelivered", Delivery(message.delivery).label, message.delivery_detail)
    words = delivery_words(message)
    return MessageLife("sent", words.split(":", 1)[0], "")


def messages_not_sent(actions: QuerySet[Action]) -> QuerySet[Action]:
    """Message actions still to go: drafted, approved or scheduled, and no message row yet."""
    sent_or_sending = OutboundMessage.objects.filter(action=OuterRef("pk"))
    return (
        actions.filter(kind__in=MESSAGE_KINDS, state__in=PENDING)
        .exclude(mode=AutomationMode.SHADOW)
        .exclude(Exists(sent_or_sending))
        .select_related("customer", "invoice")
        .order_by("scheduled_for", "id")
    )
