"""``manage.py rebuild_failure_summary``: recompute the per-invoice failure summary."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from dunning.sync.mirror.failures import failure_summary_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the per-invoice failure summary the dashboards read, from the mirror, in one "
        "set-based statement. Event processing keeps it current; run this after loading the "
        "mirror some other way, or to repair it."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        rows = failure_summary_rebuild()
        elapsed = time.perf_counter() - started
        self.stdout.write(f"{rows} failed invoices summarised in {elapsed:.1f} s.")
