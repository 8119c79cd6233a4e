"""The schedule's health check: it alerts when periodic jobs stop finishing, whatever
stopped them (the schedule, the workers, Redis)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from config.schedule import SCHEDULE, ScheduleRunner
from dunning.models import PeriodicRun

pytestmark = pytest.mark.django_db


def test_a_schedule_that_never_ran_is_reported_with_every_job():
    with pytest.raises(CommandError) as late:
        call_command("schedule_health")

    for job in SCHEDULE:
        assert f"{job.name}: last finished never" in str(late.value)


def test_the_schedule_is_healthy_once_each_job_has_run_and_late_when_the_relay_stops(
    run_jobs, capsys, sandbox
):
    assert ScheduleRunner().tick() == [job.name for job in SCHEDULE]  # all due at start
    run_jobs()

    call_command("schedule_health")
    assert f"schedule healthy: {len(SCHEDULE)} jobs on time" in capsys.readouterr().out

    PeriodicRun.objects.filter(job="relay_pending_events_job").update(
        last_finished_at=timezone.now() - timedelta(minutes=3)
    )
    with pytest.raises(CommandError, match=r"relay_pending_events_job: last finished 18\d s ago"):
        call_command("schedule_health")


def test_a_tick_while_redis_is_down_raises_and_the_next_one_enqueues_what_fell_due(
    redis_outage, run_jobs
):
    runner = ScheduleRunner()
    with pytest.raises(RedisConnectionError):
        runner.tick()
    redis_outage.end()

    assert "relay_pending_events_job" in runner.tick()
    run_jobs()
    assert PeriodicRun.objects.get(job="relay_pending_events_job").runs == 1
