"""The schedule (config/schedule.py) for ``manage.py rqcron config/cron.py``.

Prefer ``manage.py run_schedule``: rqcron exits when Redis goes away and stays down until
restarted, run_schedule waits and reconnects (docs/operations.md).
"""

from rq import cron

from config.schedule import SCHEDULE, periodic_run

for job in SCHEDULE:
    cron.register(
        periodic_run, queue_name=job.queue, args=(job.name,), interval=job.interval, name=job.name
    )
