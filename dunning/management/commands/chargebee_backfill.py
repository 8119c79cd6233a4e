from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dunning.backfill import events_backfill
from dunning.processing import events_process_due


class Command(BaseCommand):
    help = "Replay Chargebee events since DATE (Event.list, oldest first) into Dunwell."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD (UTC)")
        parser.add_argument(
            "--inline",
            action="store_true",
            help="process the events in this process instead of leaving them to the workers "
            "(always on for the embedded default, which has no shared Redis)",
        )

    def handle(self, *args, since: str, inline: bool, **options):
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}") from None
        with tqdm(desc="Fetching events", unit="event", disable=options["verbosity"] == 0) as bar:
            result = events_backfill(since=start, on_page=bar.update)
        self.stdout.write(
            f"Fetched {result.fetched}: {result.stored} new, {result.duplicates} already stored, "
            f"{result.invalid} invalid."
        )
        if inline or settings.EMBEDDED_REDIS:
            counts = events_process_due(include_recent=True, progress=options["verbosity"] > 0)
            self.stdout.write(f"Processed here: {dict(counts)}")
        else:
            self.stdout.write("New events were queued for the workers.")
