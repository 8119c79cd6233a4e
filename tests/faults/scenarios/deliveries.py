"""Chargebee delivers at least once and in no particular order."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection
from django.test import Client

from dunning.actions.execution.executor import action_run
from dunning.models import Action, ActionKind, ActionState, ChargebeeEvent, Decision, Invoice
from dunning.pipeline.triggers import decisions_for_event
from dunning.sync.jobs import process_event_job
from tests.faults.scenarios.core import (
    Env,
    Row,
    automation_on,
    collect_requests,
    deliver_all,
    double_charges,
    events_lost,
    failed_renewals,
    jobs_run,
    retry_scheduled,
    sandbox_events_since,
    successful_charges,
    timed,
    webhook_post,
)


def _at_once(count: int, work) -> list:
    """Run ``work(i)`` for i in range(count) from up to 24 threads released together,
    each with its own database connection."""
    threads = min(count, 24)
    barrier = threading.Barrier(threads)
    chunks = [list(range(count))[t::threads] for t in range(threads)]

    def thread(chunk: list[int]) -> list:
        try:
            barrier.wait()
            out = []
            for i in chunk:
                try:
                    out.append(work(i))
                except Exception as error:  # measured, not hidden: shown in the row
                    out.append(error)
            return out
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [result for part in pool.map(thread, chunks) for result in part]


@timed
def duplicate_deliveries(env: Env) -> Row:
    """The same payment_failed delivered N times, one after another and all at once; its
    processing and decision jobs run concurrently; its retry's job runs concurrently."""
    sequential = env.n(test=5, bench=100)
    concurrent = env.n(test=12, bench=300)
    row = Row(
        name="duplicate and concurrent deliveries",
        injected=f"one payment_failed delivered {sequential}x in a row and {concurrent}x at "
        "once (threads, own DB connections); processing, decision and retry jobs each run "
        "concurrently",
        expected="every delivery 200; one stored event, processed once, one decision, one charge",
    )
    automation_on()
    [invoice], events = failed_renewals(env.sandbox, 1)
    failed = next(e for e in events if e["event_type"] == "payment_failed")
    statuses = deliver_all(events)
    statuses += [webhook_post(failed).status_code for _ in range(sequential)]

    def deliver(_i: int) -> int:
        return webhook_post(failed, client=Client()).status_code

    statuses += [s if isinstance(s, int) else 599 for s in _at_once(concurrent, deliver)]
    close_old_connections()
    event = ChargebeeEvent.objects.get(event_id=failed["id"])
    # Every delivery enqueued nothing new; the one job (and stray copies of it) race.
    errors = [
        r for r in _at_once(6, lambda _i: process_event_job(event.pk)) if isinstance(r, Exception)
    ]
    jobs_run()
    errors += [
        r
        for r in _at_once(6, lambda _i: decisions_for_event(event_pk=event.pk))
        if isinstance(r, Exception)
    ]
    jobs_run()
    retry = retry_scheduled(invoice["id"], invoice["customer_id"])
    outcomes = _at_once(8, lambda _i: action_run(action_id=retry.pk, sleep=lambda s: None))
    errors += [r for r in outcomes if isinstance(r, Exception)]
    jobs_run()

    event.refresh_from_db()
    stored = ChargebeeEvent.objects.filter(event_id=failed["id"]).count()
    decisions = Decision.objects.filter(trigger_event=event).count()
    retry.refresh_from_db()
    charged = successful_charges(env.sandbox, invoice["id"])
    calls = collect_requests(env.sandbox, invoice["id"])
    non_200 = [s for s in statuses if s != 200]
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, [invoice["id"]])
    row.behaved = (
        not non_200
        and stored == 1
        and event.attempts == 1
        and decisions == 1
        and retry.state == ActionState.EXECUTED
        and charged == 1
        and not errors
    )
    row.happened = (
        f"{len(statuses) - len(non_200)}/{len(statuses)} answered 200; {stored} stored event, "
        f"processed {event.attempts}x ({event.state}); {decisions} decision; retry run by 8 "
        f"workers at once: {calls} collect_payment call, {charged} charge"
        + (f"; errors: {sorted({repr(e)[:80] for e in errors})}" if errors else "")
    )
    row.details = {"statuses": sorted(set(statuses)), "db": connection.vendor}
    return row


def _declined_then_paid(env: Env, count: int) -> tuple[list[dict], list[dict]]:
    """``count`` invoices declined and then paid by bank transfer; their events newest first."""
    mark = len(env.sandbox.events)
    invoices, _ = failed_renewals(env.sandbox, count)
    for invoice in invoices:
        env.sandbox.record_payment(
            invoice_id=invoice["id"], amount=invoice["amount_due"], payment_method="bank_transfer"
        )
    return invoices, list(reversed(sandbox_events_since(env.sandbox, mark)))


@timed
def out_of_order_events(env: Env) -> Row:
    """Invoices paid after a decline; every event delivered newest first."""
    count = env.n(test=2, bench=50)
    row = Row(
        name="out-of-order events",
        injected=f"2 x {count} invoices declined then paid, all their events delivered newest "
        "first (payment_succeeded before payment_failed, older resource_version after newer): "
        "one set processed one event at a time, the other drained in batches",
        expected="mirror ends paid; older copies stale; no action against a paid invoice",
    )
    automation_on()
    invoices, events = _declined_then_paid(env, count)
    statuses = []
    for event in events:  # each processed before the next (older) one arrives
        statuses += deliver_all([event])
        jobs_run()
    batched, batch_events = _declined_then_paid(env, count)
    statuses += deliver_all(batch_events)  # all waiting: the first job takes the rest along
    jobs_run()

    ids = [i["id"] for i in invoices + batched]
    paid = Invoice.objects.filter(cb_id__in=ids, status="paid").count()
    # Older copies of a resource arriving after newer ones are recorded stale, not applied.
    stale = sum(
        list(outcome.values()).count("stale")
        for outcome in ChargebeeEvent.objects.filter(
            event_id__in=[e["id"] for e in events]
        ).values_list("outcome", flat=True)
    )
    live = Action.objects.filter(
        invoice_id__in=ids,
        state__in=(ActionState.SCHEDULED, ActionState.APPROVED, ActionState.EXECUTED),
    ).exclude(kind=ActionKind.KEEP_CHARGEBEE_SCHEDULE)
    calls = sum(collect_requests(env.sandbox, i) for i in ids)
    row.events_lost = events_lost(e["id"] for e in events + batch_events)
    row.double_charges = double_charges(env.sandbox, ids)
    row.behaved = (
        set(statuses) == {200}
        and paid == len(ids)
        and stale > 0
        and not live.exists()
        and calls == 0
    )
    row.happened = (
        f"{len(statuses)} events delivered newest first, all 200; {paid}/{len(ids)} invoices "
        f"paid in the mirror; {stale} older resource copies recorded stale (one at a time); "
        f"{live.count()} live actions and {calls} collect_payment calls against the paid "
        "invoices" + (f" ({_live_summary(live, first_set=invoices)})" if live.exists() else "")
    )
    return row


def _live_summary(live, *, first_set: list[dict]) -> str:
    """Which actions are live against paid invoices, and from which set: for the reader."""
    one_at_a_time = {i["id"] for i in first_set}
    counts = Counter(
        (kind, state, trigger, "one at a time" if invoice in one_at_a_time else "batched")
        for kind, state, trigger, invoice in live.values_list(
            "kind", "state", "decision__trigger", "invoice_id"
        )
    )
    return "; ".join(
        f"{n} x {kind} {state} after {trigger}, {where}"
        for (kind, state, trigger, where), n in sorted(counts.items())
    )
