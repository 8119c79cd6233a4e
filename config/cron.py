"""Periodic jobs, for ``manage.py rqcron config/cron.py`` in production.

The embedded default runs the same jobs from its worker thread (dunning.embedded_worker).
"""

from rq import cron

from analytics.jobs import forecast_snapshot_job
from collections_desk.jobs import cases_refresh_job, payment_plans_track_job, promises_check_job
from dunning.jobs import (
    check_gateway_pauses_job,
    relay_missing_decisions_job,
    relay_pending_events_job,
    sweep_actions_job,
    sync_signals_job,
)

cron.register(relay_pending_events_job, queue_name="ingest", interval=30)
cron.register(relay_missing_decisions_job, queue_name="default", interval=60)
cron.register(check_gateway_pauses_job, queue_name="default", interval=60)
cron.register(sync_signals_job, queue_name="backfill", interval=900)
cron.register(cases_refresh_job, queue_name="default", interval=300)
cron.register(promises_check_job, queue_name="default", interval=900)
cron.register(payment_plans_track_job, queue_name="backfill", interval=900)
cron.register(sweep_actions_job, queue_name="actions", interval=60)
cron.register(forecast_snapshot_job, queue_name="default", interval=3600)
