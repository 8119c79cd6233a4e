from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from dunning.management.dates import utc_day_option
from dunning.sync.backfill import events_backfill


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
        start = utc_day_option(since, option="--since")
        inline = inline or settings.EMBEDDED_REDIS
        with tqdm(
            desc="Backfilling events", unit="event", disable=options["verbosity"] == 0
        ) as bar:
            result = events_backfill(since=start, inline=inline, on_page=bar.update)
        self.stdout.write(
            f"Fetched {result.fetched}: {result.stored} new, {result.duplicates} already stored, "
            f"{result.invalid} invalid."
        )
        if inline:
            self.stdout.write(f"Processed here: {dict(result.processed)}")
        else:
            self.stdout.write("New events were queued for the workers (queue: backfill).")
