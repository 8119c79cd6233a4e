"""Processing a stored vendor webhook (a job that takes the row's id; safe to run twice).

``payment_method.automatically_updated`` from Stripe: the card behind a mirrored payment
source changed, so a cached card-updater answer about it is history and is dropped; the
next decision asks Stripe again and finds the new card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone

from dunning.enrichment.card_updater.lookup import card_update_forget
from dunning.helpers.queueing import get_queue
from dunning.models import ConnectorEvent, PaymentSource

logger = logging.getLogger("dunwell.connectors")


def connector_event_process(*, event_id: int) -> str:
    event = ConnectorEvent.objects.get(pk=event_id)
    if event.processed_at:
        return event.outcome
    outcome = "ignored: Dunwell does not use this event type"
    if event.vendor == "stripe" and event.event_type == "payment_method.automatically_updated":
        method = (event.payload.get("data") or {}).get("object") or {}
        pm_id = str(method.get("id", ""))
        sources = (
            list(
                PaymentSource.objects.filter(raw__reference_id__endswith=f"/{pm_id}").values_list(
                    "cb_id", flat=True
                )
            )
            if pm_id
            else []
        )
        for cb_id in sources:
            card_update_forget(payment_source_id=cb_id)
        outcome = (
            f"card {pm_id} updated by the network: the next decision asks Stripe again "
            f"({', '.join(sources)})"
            if sources
            else f"card {pm_id} is on no mirrored payment source"
        )
    connector_event_done(event_id=event.pk, outcome=outcome)
    return outcome


def connector_event_job(event_id: int) -> str:
    return connector_event_process(event_id=event_id)


RELAY_AFTER = timedelta(minutes=2)  # an event unprocessed this long lost its job


def _enqueue(job: Callable, event_id: int) -> None:
    try:
        get_queue("default").enqueue(job, event_id)
    except Exception as error:  # stored already: the relay enqueues it again
        logger.warning("could not enqueue connector event %s: %s", event_id, error)


def connector_event_store(
    *, vendor: str, event_id: str, event_type: str, payload: object, job: Callable
) -> bool:
    """Store a vendor's webhook (once per event id) and enqueue ``job(row id)`` after commit.

    False when the event was stored before (a redelivery: acknowledge it again)."""
    try:
        with transaction.atomic():
            stored = ConnectorEvent.objects.create(
                vendor=vendor,
                event_id=event_id[:200],
                event_type=event_type[:100],
                payload=payload,
            )
            transaction.on_commit(partial(_enqueue, job, stored.pk), robust=True)
    except IntegrityError:
        return False
    return True


def webhook_size_refusal(request, *, limit: int) -> JsonResponse | None:
    """A vendor webhook's Content-Length checked before the body is read: 400 if it is not a
    byte count, 413 over ``limit``; None when the body may be read."""
    header = (request.headers.get("Content-Length") or "0").strip()
    if not header.isdigit():
        return JsonResponse(
            {"error": f"Content-Length must be a number of bytes, not {header[:40]!r}"}, status=400
        )
    if int(header) > limit:
        return JsonResponse({"error": f"the body is over {limit // 1024} KiB"}, status=413)
    return None


def connector_events_pending(*, vendor: str, now=None) -> list[int]:
    """Events stored a while ago and still unprocessed (their job was lost)."""
    before = (now or timezone.now()) - RELAY_AFTER
    rows = ConnectorEvent.objects.filter(vendor=vendor, processed_at=None, received_at__lte=before)
    return list(rows.values_list("pk", flat=True)[:500])


def connector_event_done(*, event_id: int, outcome: str) -> None:
    ConnectorEvent.objects.filter(pk=event_id, processed_at=None).update(
        processed_at=timezone.now(), outcome=outcome[:300]
    )


def connector_events_relay(*, vendors: tuple[str, ...], job: Callable) -> int:
    """Enqueue ``job`` again for these vendors' events whose job was lost; how many."""
    pending = [pk for vendor in vendors for pk in connector_events_pending(vendor=vendor)]
    for event_id in pending:
        _enqueue(job, event_id)
    return len(pending)


def stripe_events_relay_job() -> int:
    """Enqueue again the Stripe events whose job was lost; returns how many."""
    return connector_events_relay(vendors=("stripe",), job=connector_event_job)
