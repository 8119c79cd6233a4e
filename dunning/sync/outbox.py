"""The event table is the outbox and the queue: nudge after commit, and relay what was lost.

The webhook does not enqueue a job per event. After its commit it sends one cheap nudge
(``SET ... NX``): only the first nudge while none is pending enqueues a drain job, which
clears the nudge and then claims waiting rows in batches with ``SKIP LOCKED`` (a
conditional claim on SQLite). A row committed before the drain cleared the nudge is seen
by its claims; a row committed after sets a new nudge and so a new drain.

A job can be lost between the commit and the enqueue (Redis down, process killed), or
inside the worker (SIGKILL mid-job). Neither loses the event: the row keeps its state and
the relay enqueues it again. Processing claims rows with a conditional UPDATE, so a second
job for the same row does nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from dunning.helpers.queueing import get_queue, redis_connection
from dunning.models import ChargebeeEvent, EventState

logger = logging.getLogger("dunwell.outbox")

# A row still "received" this long after arrival has lost its job.
RELAY_GRACE = timedelta(seconds=30)
# A nudge expires on its own, so a drain job lost with its nudge set delays nothing for long.
NUDGE_KEY = "dunwell:events:drain-pending"
NUDGE_TTL_SECONDS = 10
# A claim older than this belongs to a worker that died.
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 8

# By path: the jobs (dunning.sync.jobs) call into processing, which hands work back here.
PROCESS_EVENT_JOB = "dunning.sync.jobs.process_event_job"
DRAIN_EVENTS_JOB = "dunning.sync.jobs.drain_events_job"
PROCESS_EVENT_BATCH_JOB = "dunning.sync.jobs.process_event_batch_job"
BACKFILL_RUN_JOB = "dunning.sync.jobs.backfill_run_job"


def event_job_id(event_pk: int) -> str:
    return f"chargebee-event-{event_pk}"


def event_enqueue(*, event_pk: int) -> bool:
    """Enqueue processing of one stored event. Returns False (and logs) if Redis is down."""
    try:
        get_queue("ingest").enqueue(
            PROCESS_EVENT_JOB, event_pk, job_id=event_job_id(event_pk), failure_ttl=7 * 86400
        )
    except (RedisError, OSError) as error:
        logger.warning("could not enqueue event %s, the relay will retry: %s", event_pk, error)
        return False
    return True


def events_nudge() -> bool:
    """Wake the drain after a commit: one Redis command, one enqueue only if none is pending.

    Returns False (and logs) if Redis is down: the rows wait for the relay.
    """
    try:
        if redis_connection().set(NUDGE_KEY, 1, nx=True, ex=NUDGE_TTL_SECONDS):
            get_queue("ingest").enqueue(DRAIN_EVENTS_JOB, failure_ttl=7 * 86400)
    except (RedisError, OSError) as error:
        logger.warning("could not nudge the event drain, the relay will: %s", error)
        return False
    return True


def events_nudge_on_commit() -> None:
    # robust: a nudge failure after commit must not turn the webhook's 200 into a 500.
    transaction.on_commit(events_nudge, robust=True)


def events_nudge_clear() -> None:
    """A drain about to claim: events committed from now on need a new nudge."""
    try:
        redis_connection().delete(NUDGE_KEY)
    except (RedisError, OSError) as error:
        logger.warning("could not clear the event drain's nudge: %s", error)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def events_due_for_relay_q(now) -> Q:
    return (
        Q(state=EventState.RECEIVED, received_at__lte=now - RELAY_GRACE)
        | Q(state=EventState.FAILED, attempts__lt=MAX_ATTEMPTS, next_attempt_at__lte=now)
        | Q(state=EventState.PROCESSING, claimed_at__lte=now - CLAIM_TIMEOUT)
    )


def events_due(*, limit: int = 1000, include_recent: bool = False) -> list[int]:
    """Ids of events whose job was lost, oldest first; abandoned claims are released.

    ``include_recent`` also takes rows still inside the grace period after arrival.
    """
    now = timezone.now()
    due = events_due_for_relay_q(now)
    if include_recent:
        due |= Q(state=EventState.RECEIVED)
    with transaction.atomic():
        rows = list(
            ChargebeeEvent.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("occurred_at", "id")
            .values_list("pk", "state")[:limit]
        )
        abandoned = [pk for pk, state in rows if state == EventState.PROCESSING]
        if abandoned:
            # The worker holding these died; hand them back so a new job may claim them.
            ChargebeeEvent.objects.filter(pk__in=abandoned, state=EventState.PROCESSING).update(
                state=EventState.FAILED,
                last_error="worker lost while processing",
                next_attempt_at=now,
            )
    return [pk for pk, _state in rows]


def events_relay(*, limit: int = 1000, include_recent: bool = False) -> int:
    """Enqueue events whose job was lost. Returns how many were enqueued."""
    enqueued = 0
    for pk in events_due(limit=limit, include_recent=include_recent):
        if not event_enqueue(event_pk=pk):
            break
        enqueued += 1
    if enqueued:
        logger.info("relay enqueued %s event(s)", enqueued)
    return enqueued
