"""Processing a stored vendor webhook (a job that takes the row's id; safe to run twice).

``payment_method.automatically_updated`` from Stripe: the card behind a mirrored payment
source changed, so a cached card-updater answer about it is history and is dropped; the
next decision asks Stripe again and finds the new card.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from dunning.card_updater.lookup import card_update_forget
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
        sources = list(
            PaymentSource.objects.filter(raw__reference_id__endswith=f"/{pm_id}").values_list(
                "cb_id", flat=True
            )
        ) if pm_id else []  # fmt: skip
        for cb_id in sources:
            card_update_forget(payment_source_id=cb_id)
        outcome = (f"card {pm_id} updated by the network: the next decision asks Stripe again "
                   f"({', '.join(sources)})" if sources
                   else f"card {pm_id} is on no mirrored payment source")  # fmt: skip
    ConnectorEvent.objects.filter(pk=event.pk, processed_at=None).update(
        processed_at=timezone.now(), outcome=outcome[:300]
    )
    return outcome


def connector_event_job(event_id: int) -> str:
    return connector_event_process(event_id=event_id)


def _enqueue(event_id: int) -> None:
    from dunning.queueing import get_queue

    try:
        get_queue("default").enqueue(connector_event_job, event_id)
    except Exception as error:  # stored already: processing can be replayed from the row
        logger.warning("could not enqueue connector event %s: %s", event_id, error)


def connector_event_enqueue_on_commit(*, event_id: int) -> None:
    transaction.on_commit(partial(_enqueue, event_id), robust=True)
