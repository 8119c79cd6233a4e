from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from config.schedule import SCHEDULE, ScheduleRunner


class Command(BaseCommand):
    help = (
        "Enqueue the periodic jobs of config/schedule.py on time, for ever: survives Redis "
        "outages (waits, reconnects, enqueues what fell due once). Run exactly one, supervised "
        "(docs/operations.md); SIGTERM or SIGINT stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-backoff",
            type=float,
            default=30.0,
            help="longest wait between tries while Redis is down (seconds)",
        )

    def handle(self, *args, **options):
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        for job in SCHEDULE:
            self.stdout.write(f"  {job.name} on {job.queue} every {job.interval} s: {job.why}")
        ScheduleRunner(max_backoff=options["max_backoff"]).run(stop)
        self.stdout.write("schedule stopped")
