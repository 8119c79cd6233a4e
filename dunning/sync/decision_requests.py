"""Which stored events ask for a decision, and asking for it once the event is mirrored.

Only events that arrive live (webhooks) decide: history fetched by a backfill describes
failures Chargebee has already handled. The decision itself is made above this layer
(``dunning.pipeline.triggers``); processing here only enqueues its job, by path, after the
event's commit. If that enqueue is lost (Redis down, a crash), the relay finds processed
trigger events without a decision.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry

from dunning.helpers.queueing import get_queue, job_on_its_way
from dunning.models import ChargebeeEvent
from dunning.models.events import MIRRORED_STATES, ReceivedVia
from dunning.models.mirror import DUE_STATUSES

logger = logging.getLogger("dunwell.decisions")

# By path: the decision is made by a layer above this one.
DECIDE_FOR_EVENTS_JOB = "dunning.pipeline.triggers.decide_for_events_job"

PAYMENT_FAILED_TYPES = frozenset({"payment_failed"})
PAYMENT_METHOD_TYPES = frozenset(
    {"payment_source_added", "payment_source_updated", "card_added", "card_updated"}
)
PAYMENT_ARRIVED_TYPES = frozenset({"payment_succeeded"})
# An offline payer's invoice is never charged, so it never fails: it becomes due. These
# events start (or, repeated, complete) its reminder sequence; card payers' are ignored.
INVOICE_DUE_TYPES = frozenset({"invoice_generated", "invoice_updated", "payment_due_reminder"})
DECIDING_TYPES = (
    PAYMENT_FAILED_TYPES | PAYMENT_METHOD_TYPES | PAYMENT_ARRIVED_TYPES | INVOICE_DUE_TYPES
)
# An event this old arriving now is history (a very late delivery): nothing to decide.
LIVE_WINDOW = timedelta(days=35)


def invoice_ids_of(content: dict) -> list[str]:
    ids = []
    if isinstance(content.get("invoice"), dict) and content["invoice"].get("id"):
        ids.append(content["invoice"]["id"])
    transaction_ = content.get("transaction")
    if isinstance(transaction_, dict):
        for link in transaction_.get("linked_invoices") or []:
            if isinstance(link, dict) and link.get("invoice_id"):
                ids.append(link["invoice_id"])
    return list(dict.fromkeys(ids))


def customer_id_of(content: dict) -> str:
    for key in ("customer", "payment_source", "card"):
        obj = content.get(key)
        if isinstance(obj, dict):
            value = obj.get("id") if key == "customer" else obj.get("customer_id")
            if value:
                return value
    return ""


def _invoice_due_in(event: ChargebeeEvent) -> bool:
    invoice = (event.payload.get("content") or {}).get("invoice")
    return isinstance(invoice, dict) and invoice.get("status") in DUE_STATUSES


def event_decides(event: ChargebeeEvent) -> bool:
    return (
        event.event_type in DECIDING_TYPES
        and event.received_via == ReceivedVia.WEBHOOK
        and event.occurred_at >= timezone.now() - LIVE_WINDOW
        and (event.event_type not in INVOICE_DUE_TYPES or _invoice_due_in(event))
    )


def decision_job_id(event_pks: list[int]) -> str:
    """The same events always make the same job id (``decisions_enqueue`` adds none while
    one waits or runs)."""
    listed = ",".join(map(str, sorted(event_pks))).encode()
    digest = hashlib.blake2b(listed, digest_size=8).hexdigest()
    return f"decide-events-{min(event_pks)}-{len(event_pks)}-{digest}"


def decisions_enqueue(*, event_pks: list[int]) -> bool:
    """One job for the decisions these events ask for: they are made together. None is
    added while the same job waits or runs (the relay asks again every few minutes); one
    that failed or finished is queued again."""
    job_id = decision_job_id(event_pks)
    try:
        queue = get_queue("default")
        if job_on_its_way(queue=queue, job_id=job_id):
            return True
        queue.enqueue(
            DECIDE_FOR_EVENTS_JOB,
            list(event_pks),
            job_id=job_id,
            failure_ttl=7 * 86400,
        )
    except (RedisError, OSError) as error:
        logger.warning(
            "could not enqueue decisions for events %s, relay retries: %s", event_pks, error
        )
        return False
    return True


# A failed decision job is queued again by the relay, at most this many times, once it has
# been failed this long: Chargebee unavailable for a while, say. It stays in RQ's failed
# jobs, with its error, after the last try.
FAILED_REQUEUE_AFTER = timedelta(minutes=2)
FAILED_REQUEUE_TIMES = 5


def decision_jobs_failed_requeue(*, after: timedelta = FAILED_REQUEUE_AFTER) -> int:
    """Queue again the decision jobs that failed at least ``after`` ago (each at most
    ``FAILED_REQUEUE_TIMES`` times): every kind of event, not only the payment failures the
    relay finds without a decision. Returns how many were queued."""
    try:
        queue = get_queue("default")
        registry = FailedJobRegistry(queue=queue)
        requeued = 0
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is None or job.func_name != DECIDE_FOR_EVENTS_JOB:
                continue
            tries = int(job.meta.get("requeued", 0))
            if tries >= FAILED_REQUEUE_TIMES:
                continue
            if job.ended_at is not None and job.ended_at > timezone.now() - after:
                continue
            job.meta["requeued"] = tries + 1
            job.save_meta()
            registry.requeue(job)
            requeued += 1
    except (RedisError, OSError) as error:
        logger.warning("could not requeue failed decision jobs, next relay retries: %s", error)
        return 0
    return requeued


def decisions_enqueue_on_commit(*, events: list[ChargebeeEvent]) -> None:
    deciding = [e.pk for e in events if event_decides(e) and e.state in MIRRORED_STATES]
    if deciding:
        transaction.on_commit(partial(decisions_enqueue, event_pks=deciding), robust=True)
