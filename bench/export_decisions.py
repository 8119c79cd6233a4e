"""Decision export and decision pages benchmark: how they hold up with many decisions.

Seeds --decisions decisions (two actions each, a realistic ~1.5 kB feature snapshot) into a
throwaway test database (Django creates test_<name> and drops it afterwards), then measures:

1. export   `export_decisions` as JSON Lines into a counting sink: actions/s and the peak
            Python memory (tracemalloc) while streaming. Target: peak memory does not grow
            with the number of actions (it streams with .iterator()), >= 20,000 actions/s.
2. list     the decision list's first page (filtered count + 50 rows + mode counts), as the
            view runs it. Target: p50 < 200 ms at 100,000 decisions on PostgreSQL.

Measured 2026-11-23 on the shared 2-core dev machine, PostgreSQL 15 (default settings):
  50,000 decisions: export 40,187 actions/s, peak 3.1 MB; list p50 83 ms
 100,000 decisions: export 38,189 actions/s, peak 3.1 MB; list p50 242 ms (target missed:
                    the filtered count and the mode counts each scan the decision table,
                    whose rows carry the feature snapshot; an index on (mode, as_of) is the
                    next step)
SQLite, 20,000 decisions: export 65,034 actions/s, peak 3.1 MB; list p50 25 ms

Run from the repository root (PostgreSQL recommended; the SQLite default works too):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunwell_bench \\
        .venv/bin/python bench/export_decisions.py [--decisions 50000]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection  # noqa: E402

from dunning.decisions import decision_queries  # noqa: E402
from dunning.decisions.latest import invoices_latest_decision_refresh  # noqa: E402
from dunning.decisions.learning.export import export_records, export_write  # noqa: E402
from dunning.models import Action, Customer, Decision, Invoice  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
MODES = ("shadow", "approve", "auto")
SNAPSHOT = {
    "recovery_features": {f"feature_{i}": i * 0.5 for i in range(14)},
    "signals": {"open_tickets": 0, "crm_tier": "", "sources": ["database"]},
    **{f"field_{i}": f"value {i}" * 4 for i in range(30)},
}


def seed(decisions: int, batch: int = 5000) -> None:
    for start in range(0, decisions, batch):
        ids = range(start, min(start + batch, decisions))
        Customer.objects.bulk_create(
            [
                Customer(cb_id=f"cus_{n}", resource_version=1, first_name="C", last_name=str(n))
                for n in ids
            ]
        )
        Invoice.objects.bulk_create(
            [
                Invoice(
                    cb_id=f"inv_{n}",
                    customer_id=f"cus_{n}",
                    status="payment_due",
                    total=4900,
                    amount_due=4900,
                    resource_version=1,
                )
                for n in ids
            ]
        )
        made = Decision.objects.bulk_create(
            [
                Decision(
                    invoice_id=f"inv_{n}",
                    customer_id=f"cus_{n}",
                    trigger="payment_failed",
                    as_of=START + timedelta(minutes=n),
                    recovery_score=0.6,
                    retry_score=0.4,
                    model_version="recovery v1",
                    segment="self_serve",
                    mode=MODES[n % 3],
                    features=SNAPSHOT,
                    reasoning="Retry Tue 09:00 customer time.",
                )
                for n in ids
            ]
        )
        invoices_latest_decision_refresh(invoice_ids=[d.invoice_id for d in made])
        Action.objects.bulk_create(
            [
                Action(
                    decision=d,
                    invoice_id=d.invoice_id,
                    customer_id=d.customer_id,
                    kind=kind,
                    channel=channel,
                    scheduled_for=d.as_of + timedelta(days=1),
                    mode=d.mode,
                )
                for d in made
                for kind, channel in (("retry", ""), ("message", "email"))
            ]
        )


class CountingSink(io.TextIOBase):
    def __init__(self):
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text)
        return len(text)


def measure_export() -> tuple[int, float, int, int]:
    """One timed pass, then one under tracemalloc (which slows Python down) for the peak."""
    sink = CountingSink()
    began = time.perf_counter()
    written = export_write(records=export_records(since=START), fmt="jsonl", out=sink)
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    export_write(records=export_records(since=START), fmt="jsonl", out=CountingSink())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return written, elapsed, peak, sink.bytes


def measure_list(runs: int = 15) -> list[float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        decisions = decision_queries.decisions_newest_first().filter(mode="approve")
        page = Paginator(decisions, 50).get_page(1)
        list(page)
        decision_queries.decision_counts(decisions=decisions, field="mode")
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=50_000)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        began = time.perf_counter()
        seed(args.decisions)
        seconds = time.perf_counter() - began
        print(
            f"{connection.vendor}: seeded {args.decisions:,} decisions, "
            f"{Action.objects.count():,} actions in {seconds:.1f} s"
        )
        written, elapsed, peak, size = measure_export()
        print(
            f"export jsonl: {written:,} actions in {elapsed:.2f} s = {written / elapsed:,.0f}/s; "
            f"{size / 1e6:.1f} MB written; peak Python memory {peak / 1e6:.1f} MB"
        )
        timings = measure_list()
        print(
            f"decision list page (mode filter, count, 50 rows, mode counts): "
            f"p50 {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
