"""Process one stored Chargebee event into the mirror, exactly once in effect.

A job claims its row with a conditional UPDATE (received/failed -> processing); a second
job for the same row finds nothing to claim and stops. The mirror writes and the final
state commit together, so a crash leaves either nothing or everything.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from enum import StrEnum

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from dunning.mirror.bulk import Item, mirror_apply_bulk
from dunning.mirror.failures import failure_summary_refresh
from dunning.mirror.resources import SPECS, resource_version
from dunning.mirror.upsert import Applied, References, mirror_upsert
from dunning.models import (
    ChargebeeEvent,
    Customer,
    EventState,
    Invoice,
    Subscription,
    Transaction,
)
from dunning.outbox import MAX_ATTEMPTS, events_due, retry_delay

logger = logging.getLogger("dunwell.processing")

SUPPORTED_API_VERSIONS = {"v2", ""}
BATCH_SIZE = 500

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


def decisions_enqueue_on_commit(*, events: list[ChargebeeEvent]) -> None:
    from dunning.decisions.triggers import decisions_enqueue_on_commit as enqueue

    enqueue(events=events)


def event_claim(*, event_pk: int) -> bool:
    claimed = ChargebeeEvent.objects.filter(
        pk=event_pk, state__in=[EventState.RECEIVED, EventState.FAILED]
    ).update(state=EventState.PROCESSING, claimed_at=timezone.now(), attempts=F("attempts") + 1)
    return claimed == 1


def event_apply_without_content(*, event: ChargebeeEvent) -> tuple[EventState, dict]:
    """Events Dunwell keeps but does not mirror: another API version, or an unused type."""
    if event.api_version not in SUPPORTED_API_VERSIONS:
        return EventState.IGNORED, {"reason": f"unsupported api_version {event.api_version!r}"}
    return EventState.IGNORED, {"reason": f"event type {event.event_type!r} is not used"}


def event_apply(*, event: ChargebeeEvent) -> tuple[EventState, dict]:
    """Apply the event's content to the mirror. Returns the resulting state and what changed."""
    if (
        event.api_version not in SUPPORTED_API_VERSIONS
        or event.event_type not in HANDLED_EVENT_TYPES
    ):
        return event_apply_without_content(event=event)
    content = event.payload.get("content") or {}
    fallback_version = int(event.occurred_at.timestamp() * 1000)
    deleted_key = DELETED_RESOURCE.get(event.event_type)
    for spec in SPECS:
        if content.get(spec.key) is not None and (problem := spec.problem(content[spec.key])):
            raise InvalidContent(problem)
    outcome: dict[str, str] = {}
    changed: list[tuple[type, str]] = []
    refs = References()
    for spec in SPECS:
        obj = content.get(spec.key)
        if obj is None:
            continue
        for model, cb_id, stub_fields in spec.references(obj):
            refs.ensure(model, cb_id, stub_fields)
        cb_id = obj[spec.id_key]
        result = mirror_upsert(
            model=spec.model,
            cb_id=cb_id,
            version=resource_version(obj, fallback_version),
            fields=spec.fields(obj, deleted=spec.key == deleted_key),
        )
        refs.written(spec.model, cb_id)
        outcome[f"{spec.key}:{cb_id}"] = result.value
        if result == Applied.APPLIED:
            changed.append((spec.model, cb_id))
    failure_summary_follow(changed=changed)
    return _state_of(outcome), outcome


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
    from dunning.audit import audit_record

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

    The outbox's drain (dunning.outbox): concurrent drains skip each other's locked rows.
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
    plans: list[tuple[ChargebeeEvent, list[tuple[str, type, str, int]]]] = []
    for event in events:
        event.last_error = ""
        if (
            event.api_version not in SUPPORTED_API_VERSIONS
            or event.event_type not in HANDLED_EVENT_TYPES
        ):
            event.state, event.outcome = event_apply_without_content(event=event)
            continue
        content = event.payload.get("content") or {}
        problems = [
            problem
            for spec in SPECS
            if content.get(spec.key) is not None and (problem := spec.problem(content[spec.key]))
        ]
        if problems:
            event.state, event.last_error, event.outcome = EventState.FAILED, problems[0], {}
            continue
        fallback_version = int(event.occurred_at.timestamp() * 1000)
        deleted_key = DELETED_RESOURCE.get(event.event_type)
        touched = []
        for spec in SPECS:
            obj = content.get(spec.key)
            if obj is None:
                continue
            cb_id, version = obj[spec.id_key], resource_version(obj, fallback_version)
            fields = spec.fields(obj, deleted=spec.key == deleted_key)
            items.append((spec.model, cb_id, version, fields, spec.references(obj)))
            touched.append((spec.key, spec.model, cb_id, version))
        plans.append((event, touched))
    before = mirror_apply_bulk(items=items)
    changed: list[tuple[type, str]] = []
    for event, touched in plans:
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
        event.outcome = outcome
        event.state = _state_of(outcome)
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


def _state_of(outcome: dict[str, str]) -> EventState:
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
