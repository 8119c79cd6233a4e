"""``manage.py rebuild_failure_summary``: recompute the per-invoice failure summary and each
invoice's first payment attempt (the failure rate's denominator)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from dunning.models import InvoiceFirstAttempt
from dunning.sync.mirror.failures import failure_summary_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the per-invoice failure summary and first payment attempts the dashboards "
        "read, from the mirror, in set-based statements. Event processing keeps them current; "
        "run this after loading the mirror some other way, or to repair them."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        rows = failure_summary_rebuild()
        elapsed = time.perf_counter() - started
        attempts = InvoiceFirstAttempt.objects.count()
        self.stdout.write(
            f"{rows} failed invoices summarised, {attempts} first payment attempts, "
            f"in {elapsed:.1f} s."
        )
