"""RQ jobs. They take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from dunning.outbox import events_relay
from dunning.processing import event_process, events_process_batch


def process_event_job(event_pk: int) -> str:
    return event_process(event_pk=event_pk).value


def relay_pending_events_job() -> int:
    return events_relay()


def process_event_batch_job(event_pks: list[int]) -> dict[str, int]:
    return dict(events_process_batch(event_pks=event_pks))
