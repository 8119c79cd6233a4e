"""What a provider said about a message after it took it: delivered, bounced, opened, clicked.

Providers call back in any order and more than once, so an event is kept once (its stored
webhook is its identity), a delivery state only moves forward (queued, sent, then
delivered / undelivered / failed, then bounced: an email can bounce after it was accepted),
and an open or a click keeps its first moment. A click means the message was opened, even
when the tracking pixel was blocked.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from dunning.models import Delivery, MessageEvent, OutboundMessage

DELIVERY_ORDER = {
    Delivery.QUEUED: 0,
    Delivery.SENT: 1,
    Delivery.DELIVERED: 2,
    Delivery.UNDELIVERED: 2,
    Delivery.FAILED: 2,
    Delivery.BOUNCED: 3,
}
OPENED, CLICKED = "opened", "clicked"


def message_event_record(
    *,
    source_id: int,
    provider: str,
    provider_message_id: str,
    kind: str,
    at: datetime,
    detail: str = "",
) -> str:
    """Record one provider event on the message it is about; the outcome in words."""
    if not provider_message_id:
        return f"{provider} {kind}: no message id in the event"
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(provider_id=provider_message_id)
            .first()
        )
        if message is None:
            return f"{provider} {kind}: no Dunwell message {provider_message_id}"
        try:
            with transaction.atomic():
                MessageEvent.objects.create(
                    message=message,
                    source_id=source_id,
                    kind=kind[:20],
                    provider=provider[:20],
                    at=at,
                    detail=detail[:300],
                )
        except IntegrityError:
            return f"{provider} {kind}: already recorded on message {message.pk}"
        changes = _changes(message, kind=kind, at=at, detail=detail)
        if changes:
            OutboundMessage.objects.filter(pk=message.pk).update(**changes)
    return f"{provider} {kind} recorded on message {message.pk}"


def _changes(message: OutboundMessage, *, kind: str, at: datetime, detail: str) -> dict:
    changes: dict = {}
    if kind in DELIVERY_ORDER:
        current = DELIVERY_ORDER.get(message.delivery, -1)
        if DELIVERY_ORDER[kind] >= current:
            changes.update(delivery=kind, delivery_detail=detail[:300])
        if kind == Delivery.DELIVERED and message.delivered_at is None:
            changes["delivered_at"] = at
    if kind in (OPENED, CLICKED) and (message.opened_at is None or at < message.opened_at):
        changes["opened_at"] = at
    if kind == CLICKED and (message.clicked_at is None or at < message.clicked_at):
        changes["clicked_at"] = at
    return changes
