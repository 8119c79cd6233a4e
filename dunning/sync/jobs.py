"""RQ jobs of the sync layer. They take ids, call a service, and are safe to run twice.

Code below this module enqueues them by their dotted path (``PROCESS_EVENT_JOB`` and its
kin in ``dunning.sync.outbox``): RQ finds a job by that name, so the outbox needs no import
of the processing it hands work to.
"""

from __future__ import annotations

import time
from collections import Counter

from dunning.models import ChargebeeEvent, EventState
from dunning.sync.outbox import events_nudge, events_nudge_clear, events_relay
from dunning.sync.processing import event_process, events_process_batch, events_process_waiting
from dunning.sync.site_connect import backfill_run

# When events queue up faster than one at a time can keep pace, a job takes this many
# waiting events along with its own; their own jobs then find nothing left to do.
DRAIN_BATCH = 100
# A drain hands what is left to a fresh job after this long (well inside the job timeout).
DRAIN_TIME_BUDGET = 30.0


def process_event_job(event_pk: int) -> str | dict[str, int]:
    waiting = list(
        ChargebeeEvent.objects.filter(state=EventState.RECEIVED)
        .exclude(pk=event_pk)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[: DRAIN_BATCH - 1]
    )
    if not waiting:
        return event_process(event_pk=event_pk).value
    return dict(events_process_batch(event_pks=[event_pk, *waiting]))


def drain_events_job() -> dict[str, int]:
    """Process every event waiting since arrival, DRAIN_BATCH at a time (the webhook's nudge).

    A full batch nudges again first, so another ingest worker can take the next batch at
    the same time (SKIP LOCKED keeps them apart).
    """
    events_nudge_clear()
    counts: Counter = Counter()
    started = time.monotonic()
    while True:
        batch = events_process_waiting(limit=DRAIN_BATCH)
        counts.update(batch)
        if sum(batch.values()) < DRAIN_BATCH:
            break
        events_nudge()
        if time.monotonic() - started > DRAIN_TIME_BUDGET:
            break
    return dict(counts)


def process_event_batch_job(event_pks: list[int]) -> dict[str, int]:
    return dict(events_process_batch(event_pks=event_pks))


def backfill_run_job(run_id: int) -> str:
    return backfill_run(run_id=run_id).state


def relay_pending_events_job() -> int:
    return events_relay()
