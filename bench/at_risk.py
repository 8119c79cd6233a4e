"""At-risk benchmark: the at-risk page and the renewal-risk training over a large mirror.

Seeds a throwaway test database (Django creates test_<name> and drops it afterwards):
--customers customers, each with a card (expiring within 1-48 months), an active monthly
subscription renewing within the next 60 days, --months past renewal invoices (about 8%
failed, each with its row in the failure summary) and six months of product usage. Then it
requests the at-risk page as a manager (30-day window; then with a minimum score; then an
htmx page 5) and prints the median of --runs runs, and times one training of the model.
Target: the page under 300 ms at 20,000 customers on PostgreSQL.

Measured 2026-11-24 on the shared 2-core dev machine (load average ~12 from other work),
PostgreSQL, 10,000 customers / 120,000 past invoices, median of 3 runs, ms:
                                        first version   usage drop in one subquery
  at risk, 30 days                               3719                         2687
  at risk, 30 days, score >= 30%                 2695                         1268
  at risk, 60 days, page 5 (htmx)               10722                        11108
  training on 120,000 renewals                  15.0 s                       18.6 s
Target NOT met: every row of the window runs the factor subqueries (failures, usage, card)
several times (the score repeats them in WHERE/ORDER BY and in the header's aggregate).
Next step: a narrow per-subscription risk table kept by event processing (as
``InvoiceFailure`` is for the dashboards), so the page sorts stored scores.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunwell_bench \\
        .venv/bin/python bench/at_risk.py [--customers 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DUNWELL_TESTING", "True")

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.at_risk.risk_model import renewal_risk_train  # noqa: E402
from dunning.decisions.learning.model_training import ColdStart  # noqa: E402
from dunning.governance.roles import Role, roles_ensure  # noqa: E402
from dunning.models import (  # noqa: E402
    Customer,
    Invoice,
    InvoiceFailure,
    PaymentSource,
    Subscription,
    UsageMonth,
)

SCREENS = {
    "at risk, 30 days": ("/analytics/at-risk/", False),
    "at risk, 30 days, score >= 30%": ("/analytics/at-risk/?min_score=30", False),
    "at risk, 60 days, page 5 (htmx)": ("/analytics/at-risk/?within=60&page=5", True),
}


def seed(*, customers: int, months: int, rng: random.Random, prefix: str = "") -> int:
    """The renewals and their history; returns the past invoices made. ``prefix`` starts every
    Chargebee id, so these rows can share a database with another bench's seed."""
    now = timezone.now()
    batch: dict[type, list] = {
        m: [] for m in (Customer, PaymentSource, Subscription, Invoice, InvoiceFailure, UsageMonth)
    }
    invoices = 0

    def flush():
        for model in (Customer, PaymentSource, Subscription, Invoice, InvoiceFailure, UsageMonth):
            model.objects.bulk_create(batch[model], batch_size=2000)
            batch[model].clear()

    for n in range(customers):
        expires = now + timedelta(days=30 * rng.randint(1, 48))
        batch[Customer].append(
            Customer(
                cb_id=f"{prefix}cus_{n}",
                resource_version=1,
                primary_payment_source_id=f"{prefix}pm_{n}",
            )
        )
        batch[PaymentSource].append(
            PaymentSource(
                cb_id=f"{prefix}pm_{n}",
                customer_id=f"{prefix}cus_{n}",
                resource_version=1,
                type="card",
                card_last4=f"{n % 10000:04d}",
                card_expiry_month=expires.month,
                card_expiry_year=expires.year,
            )
        )
        batch[Subscription].append(
            Subscription(
                cb_id=f"{prefix}sub_{n}",
                customer_id=f"{prefix}cus_{n}",
                status="active",
                billing_period_unit="month",
                resource_version=1,
                plan_id="pro-USD-monthly",
                next_billing_at=now + timedelta(days=rng.uniform(0.1, 60)),
            )
        )
        risky = rng.random() < 0.2
        for m in range(months):
            at = now - timedelta(days=30 * (m + 1) + rng.uniform(0, 2))
            batch[Invoice].append(
                Invoice(
                    cb_id=f"{prefix}inv_{n}_{m}",
                    customer_id=f"{prefix}cus_{n}",
                    subscription_id=f"{prefix}sub_{n}",
                    date=at,
                    total=4900,
                    status="paid",
                    resource_version=1,
                )
            )
            invoices += 1
            if rng.random() < (0.2 if risky else 0.05):
                batch[InvoiceFailure].append(
                    InvoiceFailure(
                        invoice_cb_id=f"{prefix}inv_{n}_{m}",
                        customer_cb_id=f"{prefix}cus_{n}",
                        first_failure_cb_id="t",
                        first_failed_at=at,
                        refreshed_at=now,
                    )
                )
        for m in range(1, 7):
            batch[UsageMonth].append(
                UsageMonth(
                    customer_cb_id=f"{prefix}cus_{n}",
                    month_start=now - timedelta(days=30 * m),
                    sessions=rng.randint(0, 200),
                )
            )
        if n % 1000 == 999:
            flush()
    flush()
    return invoices


def timed(client: Client, url: str, *, htmx: bool) -> float:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    started = time.perf_counter()
    response = client.get(url, **headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        started = time.perf_counter()
        invoices = seed(customers=args.customers, months=args.months, rng=random.Random(7))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(
            f"{connection.vendor}: seeded {args.customers:,} customers, {invoices:,} past "
            f"invoices in {time.perf_counter() - started:.0f} s"
        )
        roles_ensure()
        manager = User.objects.create_user("bench.manager", password="x" * 20)
        manager.groups.add(Group.objects.get(name=Role.MANAGER.value))
        client = Client()
        client.force_login(manager)
        print(f"{'screen':40} {'p50 ms':>8} {'max ms':>8}")
        for name, (url, htmx) in SCREENS.items():
            runs = [timed(client, url, htmx=htmx) for _ in range(args.runs)]
            print(f"{name:40} {statistics.median(runs):8.0f} {max(runs):8.0f}")
        started = time.perf_counter()
        try:
            result = renewal_risk_train()
            outcome = result.version.decision_note
        except ColdStart as cold:
            outcome = f"cold start: {cold}"
        print(
            f"training on {invoices:,} renewals: {time.perf_counter() - started:.1f} s ({outcome})"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
