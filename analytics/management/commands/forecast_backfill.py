"""``manage.py forecast_backfill``: past days' forecasts from history, then judge them."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from analytics.forecast_history import forecast_backfill, forecast_snapshots_settle
from analytics.models import ForecastSnapshot


class Command(BaseCommand):
    help = (
        "Compute the forecast of each of the last --days days as it would have been made that "
        "day (open invoices then; the decline categories' recovery rates known then), and "
        "record the actual outcome of those whose horizon has passed. Days that already have a "
        "forecast are left as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=120)

    def handle(self, *args, **options):
        started = time.monotonic()
        made = forecast_backfill(days=options["days"])
        forecast_snapshots_settle()
        settled = ForecastSnapshot.objects.filter(actual__isnull=False).count()
        self.stdout.write(
            f"  {made} past forecasts computed; {settled} can be compared with what happened "
            f"({time.monotonic() - started:.1f} s)"
        )
