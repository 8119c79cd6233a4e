"""RQ jobs. They take ids, call a service, and are safe to run twice."""

from __future__ import annotations

import time
from collections import Counter

from dunning.governance.audit import audit_checkpoint_write
from dunning.models import ChargebeeEvent, EventState
from dunning.sync.outbox import events_nudge, events_nudge_clear, events_relay
from dunning.sync.processing import event_process, events_process_batch, events_process_waiting
from dunning.sync.site_connect import backfill_run

# When events queue up faster than one at a time can keep pace, a job takes this many
# waiting events along with its own; their own jobs then find nothing left to do.
DRAIN_BATCH = 100
# A drain hands what is left to a fresh job after this long (well inside the job timeout).
DRAIN_TIME_BUDGET = 30.0
# A periodic signals sync stops here and reports what it did not reach (the next run goes on).
SIGNALS_SYNC_BUDGET = 240.0


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


def decide_for_event_job(event_pk: int) -> list[int]:
    from dunning.pipeline.triggers import decisions_for_event

    return [decision.pk for decision in decisions_for_event(event_pk=event_pk)]


def relay_missing_decisions_job() -> int:
    from dunning.pipeline.triggers import decisions_relay

    return decisions_relay()


def sync_signals_job() -> str:
    from dunning.enrichment.signals.sync import signals_sync

    return signals_sync(time_budget=SIGNALS_SYNC_BUDGET).summary()


def check_gateway_pauses_job() -> list[str]:
    from dunning.decisions.gateway_pauses import gateway_pauses_check

    return [
        f"{pause.gateway}: {redecided} re-decided" for pause, redecided in gateway_pauses_check()
    ]


def draft_message_job(action_id: int) -> bool:
    """Draft a proposed action's message and keep it (nothing to do if it has one)."""
    from dunning.actions.channels.preview import message_draft_keep_by_id

    return message_draft_keep_by_id(action_id=action_id)


def run_action_job(action_id: int) -> str:
    from dunning.actions.execution.executor import action_run

    return action_run(action_id=action_id).value


def sweep_actions_job() -> int:
    from dunning.actions.execution.sweep import actions_sweep

    return actions_sweep()


def audit_checkpoint_job() -> int:
    """Anchor the audit trail's head outside the database; returns the sequence signed."""
    return audit_checkpoint_write().seq
