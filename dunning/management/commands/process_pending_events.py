from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from dunning.sync.outbox import events_relay
from dunning.sync.processing import events_process_due


class Command(BaseCommand):
    help = (
        "Recover events whose processing job was lost (Redis down, a crash between commit "
        "and enqueue, a killed worker): re-enqueue them, or process them here with --inline."
    )

    def add_arguments(self, parser):
        parser.add_argument("--inline", action="store_true", help="process in this process")
        parser.add_argument("--limit", type=int, default=10_000)

    def handle(self, *args, inline: bool, limit: int, **options):
        if inline or settings.EMBEDDED_REDIS:
            counts = events_process_due(
                limit=limit, include_recent=True, progress=options["verbosity"] > 0
            )
            self.stdout.write(f"Processed: {dict(counts) or 'nothing pending'}")
        else:
            enqueued = events_relay(limit=limit, include_recent=True)
            self.stdout.write(f"Enqueued {enqueued} event(s) for the workers.")
