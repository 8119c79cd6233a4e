"""The one schedule of periodic jobs, and the loop that keeps it running through outages.

Production runs ``manage.py run_schedule`` (one process, supervised: docs/operations.md);
the embedded default's worker thread ticks the same schedule (dunning.pipeline.embedded_worker);
``config/cron.py`` hands it to ``rqcron`` for those who prefer RQ's own command, which
exits when Redis goes away.

Each tick enqueues the jobs that are due (RQ's CronScheduler does the timing). When Redis
is unreachable the tick fails, the loop waits (1 s, doubling to ``max_backoff``) and tries
again with a fresh connection; jobs that fell due meanwhile are enqueued once on return.
Every job runs through ``periodic_run``, which records in the database when it last
finished: ``manage.py schedule_health`` alerts from that.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.cron import CronScheduler

from analytics.jobs import forecast_snapshot_job
from collections_desk.jobs import cases_refresh_job, escalations_poll_job, payment_plans_track_job
from dunning.actions.channels.provider_webhooks import message_webhooks_relay_job
from dunning.actions.execution.jobs import sweep_actions_job
from dunning.enrichment.connectors.webhooks import stripe_events_relay_job
from dunning.enrichment.signals.sync import sync_signals_job
from dunning.governance.audit import audit_checkpoint_job
from dunning.helpers.queueing import redis_connection
from dunning.models import PeriodicRun
from dunning.pipeline.jobs import (
    check_gateway_pauses_job,
    promises_check_job,
    relay_missing_decisions_job,
)
from dunning.sync.jobs import relay_pending_events_job

logger = logging.getLogger("dunwell.schedule")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


@dataclass(frozen=True)
class PeriodicJob:
    func: Callable
    queue: str
    interval: int  # seconds
    why: str

    @property
    def name(self) -> str:
        return self.func.__name__

    @property
    def late_after(self) -> timedelta:
        """How long without a finished run before the health check calls the job late."""
        return timedelta(seconds=2 * self.interval + 60)


SCHEDULE: tuple[PeriodicJob, ...] = (
    PeriodicJob(relay_pending_events_job, "ingest", 30, "events whose job was lost"),
    PeriodicJob(relay_missing_decisions_job, "default", 60, "failures with no decision"),
    PeriodicJob(check_gateway_pauses_job, "default", 60, "retry holds on a gateway down"),
    PeriodicJob(sweep_actions_job, "actions", 60, "due actions no live worker runs"),
    PeriodicJob(cases_refresh_job, "default", 300, "open, resolve and re-rank cases"),
    PeriodicJob(
        audit_checkpoint_job,
        "default",
        settings.AUDIT_CHECKPOINT_SECONDS,
        "anchor the audit trail's head outside the database",
    ),
    PeriodicJob(promises_check_job, "default", 900, "promises to pay kept or broken"),
    PeriodicJob(escalations_poll_job, "default", 120, "escalations resent, tickets' status"),
    PeriodicJob(stripe_events_relay_job, "default", 300, "Stripe webhooks whose job was lost"),
    PeriodicJob(
        message_webhooks_relay_job,
        "default",
        300,
        "SMS and email delivery webhooks whose job was lost",
    ),
    PeriodicJob(payment_plans_track_job, "backfill", 900, "payment plans and instalments"),
    PeriodicJob(sync_signals_job, "backfill", 900, "tickets, usage and CRM tier"),
    PeriodicJob(forecast_snapshot_job, "default", 3600, "today's forecast (once a day)"),
)
_BY_NAME = {job.name: job for job in SCHEDULE}


def periodic_run(name: str):
    """The RQ job behind every scheduled entry: run it, and record that it finished."""
    job = _BY_NAME[name]
    started = timezone.now()
    PeriodicRun.objects.update_or_create(job=name, defaults={"last_started_at": started})
    try:
        result = job.func()
    except Exception as error:
        PeriodicRun.objects.filter(job=name).update(last_error=repr(error)[:2000])
        raise
    PeriodicRun.objects.filter(job=name).update(
        last_finished_at=timezone.now(), last_error="", runs=F("runs") + 1
    )
    return result


def schedule_scaled(schedule: Iterable[PeriodicJob], *, divide_by: int) -> list[PeriodicJob]:
    """The same jobs with shorter intervals (fault tests that cannot wait 30 s per tick)."""
    return [replace(job, interval=max(1, job.interval // divide_by)) for job in schedule]


class ScheduleRunner:
    def __init__(
        self,
        *,
        schedule: Iterable[PeriodicJob] = SCHEDULE,
        connect: Callable = redis_connection,
        max_backoff: float = 30.0,
    ):
        self.connect = connect
        self.max_backoff = max_backoff
        self.cron = CronScheduler(connection=connect(), name=f"dunwell-schedule-{id(self):x}")
        for job in schedule:
            self.cron.register(
                periodic_run,
                queue_name=job.queue,
                args=(job.name,),
                interval=job.interval,
                name=job.name,
            )
        self.enqueued: list[str] = []  # names, in the order they were enqueued
        self.failed_ticks = 0
        self.last_tick_at: datetime | None = None

    def tick(self) -> list[str]:
        """Enqueue whatever is due; raises if Redis cannot be reached."""
        # A fresh connection each tick: after an outage the pool's sockets are dead, and
        # the URL may have been changed to a failover's.
        self.cron.connection = self.connect()
        due = [job.name for job in self.cron.enqueue_jobs()]
        self.cron.heartbeat()  # django-rq's cron page lists the scheduler
        self.enqueued.extend(due)
        self.last_tick_at = timezone.now()
        return due

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; never exits because Redis went away."""
        backoff = 1.0
        logger.info("schedule started: %s", ", ".join(_BY_NAME))
        while not stop.is_set():
            try:
                self.tick()
            except REDIS_DOWN as error:
                self.failed_ticks += 1
                logger.warning("Redis unreachable (%s); next try in %.0f s", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            except Exception:
                self.failed_ticks += 1
                logger.exception("schedule tick failed; next try in %.0f s", backoff)
                stop.wait(backoff)
                continue
            if backoff > 1:
                logger.info("Redis reachable again: schedule resumed")
            backoff = 1.0
            stop.wait(min(self.cron.calculate_sleep_interval(), 5.0))


@dataclass(frozen=True)
class LateJob:
    name: str
    last_finished_at: datetime | None
    late_after: timedelta


def schedule_late(*, schedule: Iterable[PeriodicJob] = SCHEDULE, now=None) -> list[LateJob]:
    """The jobs that have not finished within their allowance (never: late as well)."""
    now = now or timezone.now()
    finished = dict(PeriodicRun.objects.values_list("job", "last_finished_at"))
    late = []
    for job in schedule:
        last = finished.get(job.name)
        if last is None or now - last > job.late_after:
            late.append(LateJob(job.name, last, job.late_after))
    return late
