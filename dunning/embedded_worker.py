"""An RQ worker (with the scheduler) on a thread, for the single-process embedded default.

RQ's long-running worker forks its scheduler into a child process, which would get a copy
of the in-process Redis rather than the shared one. So this thread runs the worker in
short bursts (each burst also moves due scheduled jobs onto their queues), and runs the
periodic jobs of ``config/cron.py`` itself, as ``rqcron`` does in production: the relays,
the gateway-pause check and the sweep of due actions every RELAY_INTERVAL seconds, and
enqueues the signals sync every SIGNALS_INTERVAL seconds and the forecast snapshot (one a day;
the job does nothing when today's exists) every FORECAST_INTERVAL seconds.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from analytics.jobs import forecast_snapshot_job
from collections_desk.cases import cases_refresh
from dunning.decisions.gateway_pauses import gateway_pauses_check
from dunning.decisions.triggers import decisions_relay
from dunning.execution.sweep import actions_sweep
from dunning.jobs import sync_signals_job
from dunning.outbox import events_relay
from dunning.queueing import QUEUE_NAMES, get_queue, redis_connection

logger = logging.getLogger("dunwell.worker")

RELAY_INTERVAL = 30.0
SIGNALS_INTERVAL = 900.0
FORECAST_INTERVAL = 3600.0


class ThreadWorker(SimpleWorker):
    # Signal-based job timeouts and handlers only work on the main thread.
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def run_embedded_worker(stop: threading.Event, *, poll_seconds: float = 0.5) -> None:
    last_relay = last_signals = last_forecast = -FORECAST_INTERVAL
    while not stop.is_set():
        try:
            queues = [get_queue(name) for name in QUEUE_NAMES]
            ThreadWorker(queues, connection=redis_connection()).work(
                burst=True, with_scheduler=True, logging_level="WARNING"
            )
            if time.monotonic() - last_relay > RELAY_INTERVAL:
                events_relay()
                decisions_relay()
                gateway_pauses_check()
                cases_refresh()
                actions_sweep()
                last_relay = time.monotonic()
            if time.monotonic() - last_signals > SIGNALS_INTERVAL:
                get_queue("backfill").enqueue(sync_signals_job, job_id="sync-signals")
                last_signals = time.monotonic()
            if time.monotonic() - last_forecast > FORECAST_INTERVAL:
                get_queue("default").enqueue(forecast_snapshot_job, job_id="forecast-snapshot")
                last_forecast = time.monotonic()
        except Exception:
            logger.exception("embedded worker loop failed; continuing")
        finally:
            close_old_connections()
        stop.wait(poll_seconds)


def start_embedded_worker() -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_embedded_worker, args=(stop,), name="rq-worker", daemon=True
    )
    thread.start()
    return thread, stop
