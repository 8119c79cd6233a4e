"""process_pending_events: the relay by hand, for when jobs were lost."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from dunning.models import ChargebeeEvent, EventState, Invoice
from dunning.sync.ingest import event_store
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


def test_pending_events_are_processed_inline(redis_outage):
    # Redis was down when these arrived: their jobs were never enqueued.
    event_store(payload=load_sample("payment_failed"))
    event_store(payload=load_sample("invoice_updated"))

    call_command("process_pending_events", inline=True, verbosity=0)

    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}
    assert Invoice.objects.filter(cb_id__in=["6", "19"]).count() == 2


def test_pending_events_are_handed_to_the_workers(settings, run_jobs):
    event_store(payload=load_sample("payment_failed"))  # stored, its job lost
    settings.EMBEDDED_REDIS = False  # as in production: the workers share Redis

    call_command("process_pending_events", verbosity=0)
    run_jobs()

    assert ChargebeeEvent.objects.get().state == EventState.PROCESSED


def test_rqcron_and_the_embedded_worker_run_the_one_schedule():
    from rq.cron import CronScheduler

    from config.schedule import SCHEDULE, ScheduleRunner
    from dunning.helpers.queueing import redis_connection

    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("config/cron.py")
    embedded = ScheduleRunner()  # what dunning.pipeline.embedded_worker ticks

    expected = [(job.name, job.interval) for job in SCHEDULE]
    assert [(job.args[0], job.interval) for job in scheduler.get_jobs()] == expected
    assert [(job.args[0], job.interval) for job in embedded.cron.get_jobs()] == expected
    assert ("relay_pending_events_job", 30) in expected
