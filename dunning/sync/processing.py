"""Process one stored Chargebee event into the mirror, exactly once in effect.

A job claims its row with a conditional UPDATE (received/failed -> processing); a second
job for the same row finds nothing to claim and stops. The mirror writes and the final
state commit together, so a crash leaves either nothing or everything.

Each object of an event is applied on its own (``dunning/sync/mirror/event_content.py``): what
can be mirrored is, what cannot is named on the event, which is then "processed with
warnings" and can be reprocessed from the event log like any other.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from enum import StrEnum

from django.db import DataError, connection, transaction
from django.db.models import F
from django.utils import timezone

from dunning.governance.audit import audit_record
from dunning.models import (
    ChargebeeEvent,
    Customer,
    EventState,
    Invoice,
    Subscription,
    Transaction,
)
from dunning.sync.decision_requests import decisions_enqueue_on_commit
from dunning.sync.mirror.bulk import Item, mirror_apply_bulk
from dunning.sync.mirror.event_content import ContentReading, event_content_read
from dunning.sync.mirror.failures import failure_summary_refresh
from dunning.sync.mirror.resources import resource_version
from dunning.sync.mirror.upsert import Applied, References, mirror_upsert
from dunning.sync.outbox import MAX_ATTEMPTS, events_due, retry_delay

logger = logging.getLogger("dunwell.processing")

BATCH_SIZE = 500

# Event types whose content Dunwell mirrors. Anything else is stored and marked ignored.
HANDLED_EVENT_TYPES = frozenset(
    {
        "payment_failed",
        "payment_succeeded",
        "payment_initiated",
        "payment_refunded",
        "refund_initiated",
        "invoice_generated",
        "invoice_updated",
        "invoice_deleted",
        "dunning_updated",
        "payment_due_reminder",
        "payment_source_added",
        "payment_source_updated",
        "payment_source_deleted",
        "payment_source_expiring",
        "payment_source_expired",
        "payment_source_locally_deleted",
        "card_expiry_reminder",
        "card_expired",
        "card_updated",
        "card_added",
        "card_deleted",
        "customer_created",
        "customer_changed",
        "customer_deleted",
        "subscription_created",
        "subscription_started",
        "subscription_activated",
        "subscription_changed",
        "subscription_cancelled",
        "subscription_cancellation_scheduled",
        "subscription_cancellation_reminder",
        "subscription_scheduled_cancellation_removed",
        "subscription_reactivated",
        "subscription_renewed",
        "subscription_paused",
        "subscription_resumed",
        "subscription_deleted",
        "transaction_created",
        "transaction_updated",
        "transaction_deleted",
    }
)

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
    PARTIAL = EventState.PARTIAL
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


def event_read(*, event: ChargebeeEvent) -> tuple[ContentReading | None, dict]:
    """The event's mirrorable content, or None and why it is kept but not mirrored."""
    if event.event_type not in HANDLED_EVENT_TYPES:
        return None, {"reason": f"event type {event.event_type!r} is not used"}
    reading = event_content_read(event.payload)
    if reading.unsupported:
        return None, {"reason": reading.unsupported}
    if not reading.mirrorable and reading.warnings:
        # Nothing of it can be mirrored: a failure, and retrying would not change that.
        raise InvalidContent("; ".join(reading.warnings))
    return reading, {}


def event_apply(*, event: ChargebeeEvent) -> tuple[EventState, dict]:
    """Apply the event's content to the mirror. Returns the resulting state and what changed.

    Each object is written in its own savepoint, so one the database refuses leaves the
    others mirrored; the refusal becomes one more warning.
    """
    reading, ignored = event_read(event=event)
    if reading is None:
        return EventState.IGNORED, ignored
    fallback_version = int(event.occurred_at.timestamp() * 1000)
    deleted_key = DELETED_RESOURCE.get(event.event_type)
    outcome: dict[str, str] = {}
    warnings = list(reading.warnings)
    changed: list[tuple[type, str]] = []
    refs = References()
    for spec, obj, cb_id in reading.mirrorable:
        try:
            with transaction.atomic():
                for model, ref_id, stub_fields in spec.references(obj):
                    refs.ensure(model, ref_id, stub_fields)
                result = mirror_upsert(
                    model=spec.model,
                    cb_id=cb_id,
                    version=resource_version(obj, fallback_version),
                    fields=spec.fields(obj, deleted=spec.key == deleted_key),
                )
        except DataError as error:
            warnings.append(f"content.{spec.key} {cb_id} refused by the database: {error}")
            continue
        refs.written(spec.model, cb_id)
        outcome[f"{spec.key}:{cb_id}"] = result.value
        if result == Applied.APPLIED:
            changed.append((spec.model, cb_id))
    if not outcome and warnings:
        raise InvalidContent("; ".join(warnings))
    failure_summary_follow(changed=changed)
    return _state_of(outcome, warnings), _with_warnings(outcome, warnings)


def _with_warnings(outcome: dict, warnings: list[str]) -> dict:
    return {**outcome, "warnings": warnings} if warnings else outcome


def failure_summary_follow(*, changed: list[tuple[type, str]]) -> None:
    """Bring the per-invoice failure summary up to date with these mirror writes."""
    ids: dict[type, set[str]] = {Invoice: set(), Transaction: set(), Customer: set()}
    ids[Subscription] = set()
    for model, cb_id in changed:
        if model in ids:
            ids[model].add(cb_id)
    if any(ids.values()):
        failure_summary_refresh(
            invoice_ids=ids[Invoice],
            transaction_ids=ids[Transaction],
            customer_ids=ids[Customer],
            subscription_ids=ids[Subscription],
        )


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
                last_error="; ".join(outcome.get("warnings", []))[:2000],
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
    event.state = state
    decisions_enqueue_on_commit(events=[event])
    return ProcessResult(state.value)


def _event_fail(*, event: ChargebeeEvent, error: str, retry: bool) -> None:
    attempts = event.attempts
    next_attempt = (
        timezone.now() + retry_delay(attempts) if retry and attempts < MAX_ATTEMPTS else None
    )
    ChargebeeEvent.objects.filter(pk=event.pk).update(
        state=EventState.FAILED, last_error=error[:2000], next_attempt_at=next_attempt
    )


def event_reprocess(*, event: ChargebeeEvent, user) -> ProcessResult:
    """Run an event through processing again (from the event log), whatever its state.

    Safe by construction: the mirror only takes versions newer than what it holds. The
    request and its result go to the audit trail.
    """
    previous = event.state
    ChargebeeEvent.objects.filter(pk=event.pk).exclude(state=EventState.PROCESSING).update(
        state=EventState.RECEIVED, attempts=0, next_attempt_at=None
    )
    details = {"event_id": event.event_id, "previous_state": previous}
    try:
        result = event_process(event_pk=event.pk)
    except Exception as error:
        details["error"] = str(error)
        raise
    else:
        details["result"] = result.value
    finally:
        audit_record(action="event.reprocess", actor=user, target=event, data=details)
    return result


def events_process_batch(
    *, event_pks: list[int], loaded: list[ChargebeeEvent] | None = None
) -> Counter:
    """Process many events in one transaction (backfill, catch-up). Returns counts by state.

    ``loaded`` may hold rows already in memory (a backfill page just stored), which saves
    reading their payloads back. Rows another worker holds, or that are already processed,
    are skipped. If the batch as a whole fails, each event is processed on its own so one
    bad event cannot hold the others back.
    """
    claimable = ChargebeeEvent.objects.filter(
        pk__in=event_pks, state__in=[EventState.RECEIVED, EventState.FAILED]
    )
    return _batch_claim_and_process(claimable, loaded=loaded)


def events_process_waiting(*, limit: int) -> Counter:
    """Claim up to ``limit`` events still waiting since arrival, oldest first, and process them.

    The outbox's drain (dunning.sync.outbox): concurrent drains skip each other's locked rows.
    """
    waiting = ChargebeeEvent.objects.filter(state=EventState.RECEIVED).order_by(
        "received_at", "id"
    )[:limit]
    return _batch_claim_and_process(waiting)


def _batch_claim_and_process(claimable, *, loaded: list[ChargebeeEvent] | None = None) -> Counter:
    counts: Counter = Counter()
    in_memory = {event.pk: event for event in loaded or []}
    claimed_at = timezone.now()
    claimed: list[int] = []
    try:
        with transaction.atomic():
            claimed = list(
                claimable.select_for_update(skip_locked=True).values_list("pk", flat=True)
            )
            to_load = [pk for pk in claimed if pk not in in_memory]
            events = [in_memory[pk] for pk in claimed if pk in in_memory]
            events += list(ChargebeeEvent.objects.filter(pk__in=to_load))
            events.sort(key=lambda event: (event.occurred_at, event.pk))
            _events_apply_bulk(events)
            _events_save_results(events, claimed_at=claimed_at)
            counts.update(event.state for event in events)
            decisions_enqueue_on_commit(events=events)
    except Exception:
        logger.exception("batch of %s events failed; processing them one by one", len(claimed))
        for pk in claimed:
            try:
                counts[event_process(event_pk=pk).value] += 1
            except Exception:  # recorded on the event
                counts[EventState.FAILED.value] += 1
    return counts


def _events_apply_bulk(events: list[ChargebeeEvent]) -> None:
    items: list[Item] = []
    plans: list[tuple[ChargebeeEvent, list[tuple[str, type, str, int]], list[str]]] = []
    for event in events:
        event.last_error = ""
        try:
            reading, ignored = event_read(event=event)
        except InvalidContent as error:
            event.state, event.last_error, event.outcome = EventState.FAILED, str(error), {}
            continue
        if reading is None:
            event.state, event.outcome = EventState.IGNORED, ignored
            continue
        fallback_version = int(event.occurred_at.timestamp() * 1000)
        deleted_key = DELETED_RESOURCE.get(event.event_type)
        touched = []
        for spec, obj, cb_id in reading.mirrorable:
            version = resource_version(obj, fallback_version)
            fields = spec.fields(obj, deleted=spec.key == deleted_key)
            items.append((spec.model, cb_id, version, fields, spec.references(obj)))
            touched.append((spec.key, spec.model, cb_id, version))
        event.last_error = "; ".join(reading.warnings)[:2000]
        plans.append((event, touched, reading.warnings))
    before = mirror_apply_bulk(items=items)
    changed: list[tuple[type, str]] = []
    for event, touched, warnings in plans:
        outcome = {}
        for key, model, cb_id, version in touched:
            prior = before.get((model, cb_id))
            if prior is None or prior < version:
                outcome[f"{key}:{cb_id}"] = Applied.APPLIED.value
                changed.append((model, cb_id))
            else:
                outcome[f"{key}:{cb_id}"] = (
                    Applied.UNCHANGED if prior == version else Applied.STALE
                ).value
        event.outcome = _with_warnings(outcome, warnings)
        event.state = _state_of(outcome, warnings)
    failure_summary_follow(changed=changed)


def _events_save_results(events: list[ChargebeeEvent], *, claimed_at) -> None:
    """Save each event's state and outcome: one prepared statement run for every row.

    (``bulk_update`` builds a CASE expression per row and field, far slower at this size.)
    """
    if not events:
        return
    ChargebeeEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        claimed_at=claimed_at,
        processed_at=timezone.now(),
        attempts=F("attempts") + 1,
        next_attempt_at=None,
    )
    table = ChargebeeEvent._meta.db_table
    json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET state = %s, outcome = {json_param}, last_error = %s WHERE id = %s",  # noqa: S608
            [(e.state, json.dumps(e.outcome), e.last_error, e.pk) for e in events],
        )


def _state_of(outcome: dict[str, str], warnings: list[str]) -> EventState:
    if warnings:
        return EventState.PARTIAL
    results = set(outcome.values())
    if Applied.APPLIED in results or not results:
        return EventState.PROCESSED
    if Applied.STALE in results:
        return EventState.STALE
    return EventState.PROCESSED


def events_process_due(
    *, limit: int = 1_000_000, include_recent: bool = True, progress: bool = False
) -> Counter:
    """Process pending events in this process, in batches (the relay's inline form)."""
    from tqdm import tqdm

    pks = events_due(limit=limit, include_recent=include_recent)
    counts: Counter = Counter()
    with tqdm(total=len(pks), desc="Processing events", unit="event", disable=not progress) as bar:
        for start in range(0, len(pks), BATCH_SIZE):
            batch = pks[start : start + BATCH_SIZE]
            counts.update(events_process_batch(event_pks=batch))
            bar.update(len(batch))
    return counts
