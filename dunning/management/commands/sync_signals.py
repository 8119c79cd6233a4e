from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dunning.enrichment.signals.sync import signals_sync
from dunning.management.dates import utc_day_option


class Command(BaseCommand):
    help = (
        "Copy support tickets and product usage from the signals source (docs/signals.md) "
        "into Dunwell's tables. Safe to run again: rows are upserted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", help="YYYY-MM-DD (UTC): tickets and usage months after this date"
        )
        parser.add_argument(
            "--all-customers",
            action="store_true",
            help="usage for every customer in the mirror (default: those in or near dunning)",
        )
        parser.add_argument("--time-budget", type=float, default=600.0, help="seconds")

    def handle(self, *args, since: str | None, all_customers: bool, time_budget: float, **options):
        start = utc_day_option(since, option="--since") if since else None
        report = signals_sync(since=start, all_customers=all_customers, time_budget=time_budget)
        self.stdout.write(f"Signals synced: {report.summary()}")
        if report.errors:
            raise CommandError("the sync finished with errors (see above)")
