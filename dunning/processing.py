"""Process one stored Chargebee event into the mirror, exactly once in effect.

A job claims its row with a conditional UPDATE (received/failed -> processing); a second
job for the same row finds nothing to claim and stops. The mirror writes and the final
state commit together, so a crash leaves either nothing or everything.
"""

from __future__ import annotations

import logging
from collections import Counter
from enum import StrEnum

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dunning.mirror.resources import APPLIERS, REQUIRED_KEYS, References, resource_version
from dunning.mirror.upsert import Applied
from dunning.models import ChargebeeEvent, EventState
from dunning.outbox import MAX_ATTEMPTS, events_due, retry_delay

logger = logging.getLogger("dunwell.processing")

SUPPORTED_API_VERSIONS = {"v2", ""}

# Event types whose content Dunwell mirrors. Anything else is stored and marked ignored.
HANDLED_EVENT_TYPES = frozenset(
    {
        "payment_failed", "payment_succeeded", "payment_initiated", "payment_refunded",
        "refund_initiated", "invoice_generated", "invoice_updated", "invoice_deleted",
        "dunning_updated", "payment_due_reminder",
        "payment_source_added", "payment_source_updated", "payment_source_deleted",
        "payment_source_expiring", "payment_source_expired", "payment_source_locally_deleted",
        "card_expiry_reminder", "card_expired", "card_updated", "card_added", "card_deleted",
        "customer_created", "customer_changed", "customer_deleted",
        "subscription_created", "subscription_started", "subscription_activated",
        "subscription_changed", "subscription_cancelled", "subscription_cancellation_scheduled",
        "subscription_cancellation_reminder", "subscription_scheduled_cancellation_removed",
        "subscription_reactivated", "subscription_renewed", "subscription_paused",
        "subscription_resumed", "subscription_deleted",
        "transaction_created", "transaction_updated", "transaction_deleted",
    }
)  # fmt: skip

# For "<resource>_deleted" events the named resource is marked deleted in the mirror.
DELETED_RESOURCE = {
    "invoice_deleted": "invoice",
    "customer_deleted": "customer",
    "payment_source_deleted": "payment_source",
    "payment_source_locally_deleted": "payment_source",
    "card_deleted": "card",
    "subscription_deleted": "subscription",
    "transaction_deleted": "transaction",
}


class ProcessResult(StrEnum):
    NOT_CLAIMED = "not_claimed"
    PROCESSED = EventState.PROCESSED
    STALE = EventState.STALE
    IGNORED = EventState.IGNORED
    FAILED = EventState.FAILED


class InvalidContent(ValueError):
    """The event is well-formed JSON but its content cannot be mirrored: retrying won't help."""


def event_claim(*, event_pk: int) -> bool:
    claimed = ChargebeeEvent.objects.filter(
        pk=event_pk, state__in=[EventState.RECEIVED, EventState.FAILED]
    ).update(state=EventState.PROCESSING, claimed_at=timezone.now(), attempts=F("attempts") + 1)
    return claimed == 1


def event_apply(*, event: ChargebeeEvent) -> tuple[EventState, dict]:
    """Apply the event's content to the mirror. Returns the resulting state and what changed."""
    if event.api_version not in SUPPORTED_API_VERSIONS:
        return EventState.IGNORED, {"reason": f"unsupported api_version {event.api_version!r}"}
    if event.event_type not in HANDLED_EVENT_TYPES:
        return EventState.IGNORED, {"reason": f"event type {event.event_type!r} is not used"}
    content = event.payload.get("content") or {}
    fallback_version = int(event.occurred_at.timestamp() * 1000)
    deleted_key = DELETED_RESOURCE.get(event.event_type)
    outcome: dict[str, str] = {}
    refs = References()
    for key, apply in APPLIERS:
        obj = content.get(key)
        if obj is None:
            continue
        if not isinstance(obj, dict):
            raise InvalidContent(f"content.{key} is not an object")
        for required in REQUIRED_KEYS[key]:
            if not isinstance(obj.get(required), str) or not obj.get(required):
                raise InvalidContent(f"content.{key}.{required} is missing")
        version = resource_version(obj, fallback_version)
        result = apply(obj, version=version, refs=refs, deleted=key == deleted_key)
        label = obj.get("id") or obj.get("payment_source_id")
        outcome[f"{key}:{label}"] = result.value
    results = set(outcome.values())
    if Applied.APPLIED in results or not results:
        return EventState.PROCESSED, outcome
    if Applied.STALE in results:
        return EventState.STALE, outcome
    return EventState.PROCESSED, outcome


def event_process(*, event_pk: int) -> ProcessResult:
    if not event_claim(event_pk=event_pk):
        return ProcessResult.NOT_CLAIMED
    event = ChargebeeEvent.objects.get(pk=event_pk)
    try:
        with transaction.atomic():
            state, outcome = event_apply(event=event)
            ChargebeeEvent.objects.filter(pk=event_pk).update(
                state=state,
                outcome=outcome,
                processed_at=timezone.now(),
                last_error="",
                next_attempt_at=None,
            )
    except InvalidContent as error:
        _event_fail(event=event, error=str(error), retry=False)
        return ProcessResult.FAILED
    except Exception as error:
        logger.exception("processing event %s failed", event.event_id)
        _event_fail(event=event, error=f"{type(error).__name__}: {error}", retry=True)
        raise
    if state == EventState.STALE:
        logger.info("event %s is older than the mirror; nothing changed", event.event_id)
    return ProcessResult(state.value)


def _event_fail(*, event: ChargebeeEvent, error: str, retry: bool) -> None:
    attempts = event.attempts
    next_attempt = (
        timezone.now() + retry_delay(attempts) if retry and attempts < MAX_ATTEMPTS else None
    )
    ChargebeeEvent.objects.filter(pk=event.pk).update(
        state=EventState.FAILED, last_error=error[:2000], next_attempt_at=next_attempt
    )


def event_reprocess(*, event: ChargebeeEvent) -> ProcessResult:
    """Run an event through processing again (from the event log), whatever its state.

    Safe by construction: the mirror only takes versions newer than what it holds.
    """
    ChargebeeEvent.objects.filter(pk=event.pk).exclude(state=EventState.PROCESSING).update(
        state=EventState.RECEIVED, attempts=0, next_attempt_at=None
    )
    return event_process(event_pk=event.pk)


def events_process_due(
    *, limit: int = 10_000, include_recent: bool = True, progress: bool = False
) -> Counter:
    """Process pending events in this process (the relay's inline form). Returns counts."""
    from tqdm import tqdm

    pks = events_due(limit=limit, include_recent=include_recent)
    counts: Counter = Counter()
    for pk in tqdm(pks, desc="Processing events", unit="event", disable=not progress):
        try:
            counts[event_process(event_pk=pk).value] += 1
        except Exception:  # recorded on the event; keep going with the rest
            counts["failed"] += 1
    return counts
