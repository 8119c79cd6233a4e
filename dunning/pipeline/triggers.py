"""Which events lead to a decision, and making sure each one gets its decision.

Only events that arrive live (webhooks) decide: history fetched by a backfill describes
failures Chargebee has already handled. ``decisions_for_open_invoices`` covers what is
still in dunning after a backfill. A payment that arrives cancels what was waiting.

Processing asks for the decision (``dunning.sync.decision_requests``) after the event's
commit; if that enqueue is lost, ``decisions_relay`` finds processed trigger events without
a decision.

Offline payers (``auto_collection`` off) are never charged, so no payment fails: the
invoice events that show their invoice due start the reminder sequence instead.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db.models import DateTimeField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dunning.decisions.enrichment import invoice_pays_offline, mirror_fill_gaps
from dunning.models import ChargebeeEvent, Decision, Invoice, Transaction
from dunning.models.events import MIRRORED_STATES, ReceivedVia
from dunning.models.mirror import DUE_STATUSES
from dunning.pipeline.decide import (
    DecisionRequest,
    DecisionsMade,
    decisions_make,
    open_invoices_decide,
)
from dunning.pipeline.settle import invoice_payment_settle
from dunning.sync.decision_requests import (
    INVOICE_DUE_TYPES,
    LIVE_WINDOW,
    PAYMENT_ARRIVED_TYPES,
    PAYMENT_FAILED_TYPES,
    customer_id_of,
    decisions_enqueue,
    event_decides,
    invoice_ids_of,
)

logger = logging.getLogger("dunwell.decisions")

T = Decision.Trigger
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RELAY_LOOKBACK = timedelta(days=2)
RELAY_GRACE = timedelta(seconds=60)


def _offline_due_invoices(content: dict) -> list[str]:
    """The event's invoice if it is due and its customer pays offline (read from Chargebee
    through the SDK when the mirror knows the customer only by id)."""
    invoice = (
        Invoice.objects.select_related("customer")
        .filter(cb_id=(content.get("invoice") or {}).get("id"), resource_version__gt=0)
        .first()
    )
    if invoice is None or invoice.status not in DUE_STATUSES:
        return []
    if invoice.customer.is_stub:
        invoice = mirror_fill_gaps(invoice=invoice)
    return [invoice.cb_id] if invoice_pays_offline(invoice) else []


def decisions_for_event(*, event_pk: int) -> list[Decision]:
    return decisions_for_events(event_pks=[event_pk])


def decisions_for_events(*, event_pks: list[int]) -> list[Decision]:
    """The decisions these events ask for, made together (``decisions_make``), in the order
    the events were stored, and the payments among them settled. Raises after doing all the
    rest if a decision could not be made or a payment settled: the job fails (RQ keeps it
    with its error in its failed jobs), and the relay asks again for payment failures still
    without a decision."""
    requests: list[DecisionRequest] = []
    made = DecisionsMade()
    unsettled: list[Exception] = []
    for event in ChargebeeEvent.objects.filter(pk__in=event_pks).order_by("pk"):
        if not event_decides(event) or event.state not in MIRRORED_STATES:
            continue
        content = event.payload.get("content") or {}
        if event.event_type in PAYMENT_ARRIVED_TYPES:
            # What came before is decided first, so the payment cancels what it planned.
            made.extend(decisions_make(requests=requests))
            requests = []
            # Paid in full: what was waiting is cancelled and the case resolves now. A partial
            # payment leaves the invoice due and its plan (the reminder sequence) carries on.
            for invoice_id in invoice_ids_of(content):
                try:
                    invoice_payment_settle(invoice_id=invoice_id)
                except Exception as error:  # the rest of the batch is still decided
                    logger.error(
                        "payment on %s (event %s) not settled: %s", invoice_id, event.pk, error
                    )
                    unsettled.append(error)
            continue
        requests += _requests_for(event=event, content=content)
    made.extend(decisions_make(requests=requests))
    for request, failure in made.failed:
        logger.error(
            "no decision about %s for event %s: %s",
            request.invoice.cb_id,
            request.event.pk if request.event else None,
            failure,
        )
    # The job fails once everything else is done: RQ keeps it, and its error, in its failed jobs.
    if unsettled or made.failed:
        raise (unsettled or [failure for _, failure in made.failed])[0]
    return made.decisions


def _requests_for(*, event: ChargebeeEvent, content: dict) -> list[DecisionRequest]:
    if event.event_type in INVOICE_DUE_TYPES:
        targets = [(i, T.DUNNING_STARTED) for i in _offline_due_invoices(content)]
    elif event.event_type in PAYMENT_FAILED_TYPES:
        targets = [(invoice_id, T.PAYMENT_FAILED) for invoice_id in invoice_ids_of(content)]
    else:
        # Only invoices that had already failed: a card added before a failure changes nothing.
        open_ids = (
            Invoice.objects.filter(
                customer_id=customer_id_of(content),
                status__in=DUE_STATUSES,
                transactions__status="failure",
                transactions__date__lt=event.occurred_at,
            )
            .distinct()
            .values_list("cb_id", flat=True)
        )
        targets = [(invoice_id, T.PAYMENT_METHOD_CHANGED) for invoice_id in open_ids]
    invoices = Invoice.objects.select_related("customer", "subscription").in_bulk(
        [invoice_id for invoice_id, _ in targets], field_name="cb_id"
    )
    return [
        DecisionRequest(invoice=invoice, trigger=trigger, at=event.occurred_at, event=event)
        for invoice_id, trigger in targets
        if (invoice := invoices.get(invoice_id)) is not None and invoice.resource_version > 0
    ]


def decide_for_event_job(event_pk: int) -> list[int]:
    """Kept for the jobs enqueued one per event before ``decide_for_events_job``."""
    return decide_for_events_job([event_pk])


def decide_for_events_job(event_pks: list[int]) -> list[int]:
    return [decision.pk for decision in decisions_for_events(event_pks=event_pks)]


def decisions_missing(*, limit: int = 500) -> list[int]:
    """Processed live payment failures that have no decision yet.

    (A payment-method change for a customer with nothing in dunning rightly has none, so
    those are not relayed; their decisions are only as reliable as their enqueue.)
    """
    now = timezone.now()
    return list(
        ChargebeeEvent.objects.filter(
            event_type__in=PAYMENT_FAILED_TYPES,
            received_via=ReceivedVia.WEBHOOK,
            state__in=MIRRORED_STATES,
            processed_at__gte=now - RELAY_LOOKBACK,
            processed_at__lte=now - RELAY_GRACE,
            occurred_at__gte=now - LIVE_WINDOW,
        )
        .filter(~Exists(Decision.objects.filter(trigger_event=OuterRef("pk"))))
        .order_by("pk")  # the same batches from one run to the next, so the same job ids
        .values_list("pk", flat=True)[:limit]
    )


RELAY_BATCH = 50


def decisions_relay(*, limit: int = 500) -> int:
    missing = decisions_missing(limit=limit)
    enqueued = 0
    for start in range(0, len(missing), RELAY_BATCH):
        batch = missing[start : start + RELAY_BATCH]
        if not decisions_enqueue(event_pks=batch):
            break
        enqueued += len(batch)
    return enqueued


def invoices_undecided(*, at=None):
    """Cb ids of invoices in dunning with no decision since their last decline."""
    at = at or timezone.now()
    last_failure = (
        Transaction.objects.filter(invoice_id=OuterRef("cb_id"), status="failure")
        .order_by("-date")
        .values("date")[:1]
    )
    return (
        Invoice.objects.filter(status__in=DUE_STATUSES, resource_version__gt=0)
        # An offline payer's invoice never failed: any decision about it counts.
        .annotate(
            last_failed=Coalesce(Subquery(last_failure), Value(EPOCH, output_field=DateTimeField()))
        )
        .annotate(
            decided=Exists(
                Decision.objects.filter(
                    invoice_id=OuterRef("cb_id"), as_of__gte=OuterRef("last_failed")
                )
            )
        )
        .filter(decided=False)
        .values_list("cb_id", flat=True)
    )


def decisions_for_open_invoices(*, at=None, on_decision=None) -> int:
    """Decide about every invoice in dunning that has no decision since its last decline.

    ``on_decision`` is called after each one (the demo's progress bar).
    """
    at = at or timezone.now()
    count = 0
    for made in open_invoices_decide(invoice_ids=list(invoices_undecided(at=at)), at=at):
        if made.failed:
            raise made.failed[0][1]
        count += len(made.decisions)
        if on_decision is not None:
            for _ in made.decisions:
                on_decision()
    return count
