"""An RQ worker (with the scheduler) on a thread, for the single-process embedded default.

RQ's long-running worker forks its scheduler into a child process, which would get a copy
of the in-process Redis rather than the shared one. So this thread runs the worker in
short bursts (each burst also moves due scheduled jobs onto their queues), and before each
burst ticks the one schedule of periodic jobs (config/schedule.py) that ``run_schedule``
runs in production.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from config.schedule import ScheduleRunner
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection

logger = logging.getLogger("dunwell.worker")


class ThreadWorker(SimpleWorker):
    # Signal-based job timeouts and handlers only work on the main thread.
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def run_embedded_worker(stop: threading.Event, *, poll_seconds: float = 0.5) -> None:
    schedule = ScheduleRunner()
    while not stop.is_set():
        try:
            schedule.tick()
            queues = [get_queue(name) for name in QUEUE_NAMES]
            ThreadWorker(queues, connection=redis_connection()).work(
                burst=True, with_scheduler=True, logging_level="WARNING"
            )
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
