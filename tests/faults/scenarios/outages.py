"""Redis or the database going away while webhooks arrive and jobs run."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from config.schedule import SCHEDULE, ScheduleRunner, schedule_late, schedule_scaled
from dunning.helpers.queueing import get_queue, redis_connection
from dunning.models import (
    ChargebeeEvent,
    Decision,
    EventState,
    Invoice,
    PeriodicRun,
    RejectedWebhook,
)
from dunning.pipeline.triggers import decisions_relay
from dunning.sync.outbox import CLAIM_TIMEOUT, RELAY_GRACE, events_relay
from dunning.sync.processing import event_claim
from tests.conftest import RedisOutage
from tests.faults.scenarios.core import (
    Env,
    Row,
    automation_on,
    claims_age,
    deliver_all,
    double_charges,
    events_lost,
    failed_renewals,
    jobs_run,
    timed,
    webhook_post,
)


@contextmanager
def redis_down():
    """Redis really unreachable: the embedded server disconnects, or the URL goes nowhere."""
    outage = RedisOutage(settings)
    outage.start()
    try:
        yield
    finally:
        outage.end()


@contextmanager
def database_down():
    """This thread's database connection points at a database that is not there."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/dunwell/down.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _decided(invoice_ids: list[str]) -> int:
    return (
        Decision.objects.filter(invoice_id__in=invoice_ids).values("invoice_id").distinct().count()
    )


@timed
def redis_down_at_ingest(env: Env) -> Row:
    count = env.n(test=3, bench=100)
    row = Row(
        name="Redis down at ingest",
        injected=f"Redis unreachable while {count} failed renewals' webhooks arrive",
        expected="every webhook 200 and stored; relayed and processed once Redis is back",
    )
    automation_on()
    invoices, events = failed_renewals(env.sandbox, count)
    with redis_down():
        statuses = deliver_all(events)
        waiting = ChargebeeEvent.objects.filter(
            event_id__in=[e["id"] for e in events], state=EventState.RECEIVED
        ).count()
        relayed_while_down = events_relay(include_recent=True)
    relayed = events_relay(include_recent=True)
    jobs_run()
    ids = [i["id"] for i in invoices]
    decided = _decided(ids)
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, ids)
    row.behaved = (
        set(statuses) == {200}
        and waiting == len(events)
        and relayed_while_down == 0
        and decided == count
    )
    row.happened = (
        f"{statuses.count(200)}/{len(statuses)} answered 200 with Redis down, {waiting} stored "
        f"waiting; relay enqueued {relayed} once Redis was back; {decided}/{count} invoices "
        "decided"
    )
    return row


@timed
def redis_down_during_processing(env: Env) -> Row:
    count = env.n(test=2, bench=50)
    row = Row(
        name="Redis down during processing",
        injected=f"{count} renewals: Redis goes down after workers took their jobs (decision "
        "enqueues fail); then Redis restarts empty while one worker holds a claimed event",
        expected="relays re-enqueue what was lost; every event processed once, one decision "
        "per invoice",
    )
    automation_on()
    invoices, events = failed_renewals(env.sandbox, count)
    deliver_all(events)  # stored, jobs enqueued
    queue = get_queue("ingest")
    taken = queue.get_jobs()
    queue.empty()  # the worker has taken them ...
    with redis_down():  # ... and Redis goes away while they run
        for job in taken:
            job.func(*job.args)
    processed = ChargebeeEvent.objects.filter(
        event_id__in=[e["id"] for e in events], state=EventState.PROCESSED
    )
    decided_before = _decided([i["id"] for i in invoices])

    # A second wave: a worker claims an event, Redis restarts without its data, the worker dies.
    more, more_events = failed_renewals(env.sandbox, count)
    deliver_all(more_events)
    held = ChargebeeEvent.objects.get(event_id=more_events[-1]["id"])
    claimed = event_claim(event_pk=held.pk)
    redis_connection().flushdb()  # restarted empty: every queued job is gone
    jobs_run()
    claims_age(ChargebeeEvent, [held.pk], by=CLAIM_TIMEOUT + timedelta(minutes=1))
    claims_age(
        ChargebeeEvent,
        ChargebeeEvent.objects.filter(state=EventState.PROCESSED).values_list("pk", flat=True),
        by=timedelta(minutes=2),
    )  # the decision relay waits a minute after processing
    relayed = events_relay(include_recent=True)
    jobs_run()
    decisions_relayed = decisions_relay()
    jobs_run()

    all_events = events + more_events
    all_ids = [i["id"] for i in invoices + more]
    held.refresh_from_db()
    per_invoice = [Decision.objects.filter(invoice_id=i).count() for i in all_ids]
    attempts = sorted(
        set(
            ChargebeeEvent.objects.filter(event_id__in=[e["id"] for e in all_events]).values_list(
                "attempts", flat=True
            )
        )
    )
    row.events_lost = events_lost(e["id"] for e in all_events)
    row.double_charges = double_charges(env.sandbox, all_ids)
    row.behaved = (
        processed.count() == len(events)
        and decided_before == 0
        and claimed
        and held.state == EventState.PROCESSED
        and held.attempts == 2
        and per_invoice == [1] * len(all_ids)
        and Invoice.objects.filter(cb_id__in=all_ids).count() == len(all_ids)
    )
    row.happened = (
        f"{processed.count()} events processed while Redis was down, {decided_before} decided "
        f"(enqueues lost); after Redis came back empty the event relay enqueued {relayed} and "
        f"the decision relay {decisions_relayed}; the abandoned claim re-ran (attempts "
        f"{held.attempts}); attempts per event {attempts}; decisions per invoice "
        f"{sorted(set(per_invoice))}"
    )
    return row


@timed
def database_down_at_ingest(env: Env) -> Row:
    count = env.n(test=3, bench=100)
    row = Row(
        name="database unavailable at ingest",
        injected=f"the database unreachable while {count} webhooks arrive, then Chargebee "
        "delivers them again",
        expected="503 with a reason and Retry-After, nothing half-stored; stored and processed "
        "on redelivery",
    )
    automation_on()
    invoices, events = failed_renewals(env.sandbox, count)
    events = events[: count * 2]
    rejected_before = RejectedWebhook.objects.count()
    with database_down():
        answers = [webhook_post(event) for event in events]
    statuses = [a.status_code for a in answers]
    with_reason = sum(
        1 for a in answers if a.status_code == 503 and a.get("Retry-After") and a.json()["error"]
    )
    half_stored = ChargebeeEvent.objects.filter(event_id__in=[e["id"] for e in events]).count()
    half_stored += RejectedWebhook.objects.count() - rejected_before
    redelivered = deliver_all(events)
    jobs_run()
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, [i["id"] for i in invoices])
    row.behaved = (
        statuses == [503] * len(events)
        and with_reason == len(events)
        and half_stored == 0
        and set(redelivered) == {200}
    )
    row.happened = (
        f"{statuses.count(503)}/{len(events)} answered 503 (Retry-After and a reason: "
        f"{with_reason}); {half_stored} rows written; redelivered: "
        f"{redelivered.count(200)} x 200, all processed"
    )
    return row


def _wait_until(condition, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@timed
def redis_down_under_the_schedule(env: Env) -> Row:
    outage_seconds = env.n(test=3, bench=60)
    count = env.n(test=2, bench=50)
    row = Row(
        name="Redis down under the schedule",
        injected=f"Redis unreachable for {outage_seconds} s under the running schedule "
        f"(manage.py run_schedule's loop) while {count} failed renewals' webhooks arrive",
        expected="the schedule keeps running and reconnects by itself; its relay then "
        "enqueues the waiting events, all processed and decided, no one restarts anything",
    )
    automation_on()
    invoices, events = failed_renewals(env.sandbox, count)
    # The real schedule; in the test its intervals are divided by 30 (the relay: every 1 s).
    schedule = schedule_scaled(SCHEDULE, divide_by=env.n(test=30, bench=1))
    runner = ScheduleRunner(schedule=schedule, max_backoff=env.n(test=1, bench=30))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), name="schedule", daemon=True)
    thread.start()
    try:
        _wait_until(lambda: runner.enqueued, seconds=10)
        jobs_run()  # the first round of every job, before the fault
        with redis_down():
            statuses = deliver_all(events)
            failed_before = runner.failed_ticks
            time.sleep(outage_seconds)
            failed_during = runner.failed_ticks - failed_before
            alive_during = thread.is_alive()
        back_at = timezone.now()
        if outage_seconds < RELAY_GRACE.total_seconds():
            # The relay leaves events younger than its grace period to their own job; in
            # the test the outage is shorter than that, so they are made that old.
            ChargebeeEvent.objects.filter(event_id__in=[e["id"] for e in events]).update(
                received_at=F("received_at") - RELAY_GRACE
            )
        mark = len(runner.enqueued)
        resumed = _wait_until(
            lambda: "relay_pending_events_job" in runner.enqueued[mark:], seconds=90
        )
        jobs_run()  # the workers (supervised, reconnecting on their own) take the jobs
    finally:
        stop.set()
        thread.join(timeout=10)
    ids = [i["id"] for i in invoices]
    decided = _decided(ids)
    relay_run = PeriodicRun.objects.filter(job="relay_pending_events_job").first()
    relay_after = bool(
        relay_run and relay_run.last_finished_at and relay_run.last_finished_at > back_at
    )
    row.events_lost = events_lost(e["id"] for e in events)
    row.double_charges = double_charges(env.sandbox, ids)
    row.behaved = (
        set(statuses) == {200}
        and alive_during
        and failed_during > 0
        and resumed
        and relay_after
        and decided == count
        and "relay_pending_events_job" not in {j.name for j in schedule_late(schedule=schedule)}
    )
    row.happened = (
        f"schedule alive through the outage ({failed_during} failed ticks, backing off); "
        f"{'resumed' if resumed else 'did NOT resume'} by itself once Redis was back and "
        f"enqueued the relay; {decided}/{count} invoices decided; the relay "
        f"{'finished after' if relay_after else 'did not finish after'} Redis returned"
    )
    return row
