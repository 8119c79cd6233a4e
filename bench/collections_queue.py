"""Collections queue benchmark: the queue page's server time and query count at 50,000 cases.

Seeds --cases open cases (each with a customer, an invoice, a decision and a proposed action
so the "waiting for approval" count has work to do) across two teams in a throwaway test
database, then requests the queue through Django's test client as a manager (every case)
and as an agent (their team's cases, through the guardian permission), unfiltered and
filtered, and prints p50/max server time and the number of SQL queries per request.
Target: a few queries, under 300 ms on PostgreSQL.

Measured 2026-11-24 on the shared 2-core dev machine, PostgreSQL 15, 50,000 open cases
(p50 of 15 requests, whole request through the test client; SQL is ~25 ms of it):
  manager: first page 74 ms, page 400 98 ms, segment + decline filter 77 ms,
           unassigned 79 ms; 11 queries (4 of them session, user and permissions)
  agent (one team, guardian): first page 93 ms, page 200 121 ms, filtered 52 ms; 8-10 queries
  cases_refresh (re-rank all 50,000 in one UPDATE): 3.1 s
Before the partial indexes and the two-step page (ids from the index, then the page's
rows with their counts): 348 ms first page, 568 ms at page 400.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunwell_bench \\
        .venv/bin/python bench/collections_queue.py [--cases 50000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from collections_desk.cases import cases_refresh  # noqa: E402
from collections_desk.models import Case  # noqa: E402
from collections_desk.teams import team_create, team_member_add  # noqa: E402
from dunning.models import Action, Customer, Decision, Invoice  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
SEGMENTS = ("self_serve", "growth", "enterprise")
CATEGORIES = ("soft_decline", "hard_decline", "insufficient_funds", "expired_card")


def seed(cases: int, teams: list, batch: int = 5000) -> None:
    now = timezone.now()
    for start in range(0, cases, batch):
        ids = range(start, min(start + batch, cases))
        Customer.objects.bulk_create(
            [Customer(cb_id=f"cus_{n}", resource_version=1, first_name="C", last_name=str(n))
             for n in ids]
        )  # fmt: skip
        Invoice.objects.bulk_create(
            [Invoice(cb_id=f"inv_{n}", customer_id=f"cus_{n}", status="payment_due",
                     currency_code="USD", total=4900 + n % 50_000,
                     amount_due=4900 + n % 50_000, resource_version=1) for n in ids]
        )  # fmt: skip
        decisions = Decision.objects.bulk_create(
            [Decision(invoice_id=f"inv_{n}", customer_id=f"cus_{n}", trigger="payment_failed",
                      as_of=START + timedelta(minutes=n), recovery_score=(n % 97) / 100,
                      model_version="recovery v1", segment=SEGMENTS[n % 3], mode="approve",
                      reasoning="Retry Tue 09:00 customer time.") for n in ids]
        )  # fmt: skip
        Action.objects.bulk_create(
            [Action(decision=d, invoice_id=d.invoice_id, customer_id=d.customer_id,
                    kind="message", channel="email", mode="approve", needs_approval=True,
                    scheduled_for=d.as_of) for d in decisions]
        )  # fmt: skip
        made = Case.objects.bulk_create(
            [Case(customer_id=f"cus_{n}", team=teams[n % 2], reason="1 action waits",
                  segment=SEGMENTS[n % 3], decline_category=CATEGORIES[n % 4], currency="USD",
                  amount_due=4900 + n % 50_000, recovery_score=(n % 97) / 100,
                  expected_recovery=int((4900 + n % 50_000) * (n % 97) / 100),
                  lifetime_value=(n % 300) * 1000, opened_at=now - timedelta(hours=n % 700),
                  sla_due_at=now + timedelta(hours=72 - n % 700)) for n in ids]
        )  # fmt: skip
        Case.invoices.through.objects.bulk_create(
            [Case.invoices.through(case_id=c.pk, invoice_id=n)
             for c, n in zip(made, Invoice.objects.filter(cb_id__in=[f"inv_{n}" for n in ids])
                             .order_by("id").values_list("pk", flat=True), strict=True)]
        )  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def measure(client: Client, params: dict, runs: int = 15) -> tuple[float, float, int]:
    timings, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get("/collections/", params)
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return statistics.median(timings), max(timings), queries


def explain(user) -> None:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        client.get("/collections/")
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            began = time.perf_counter()
            cursor.execute(query["sql"])
            took = (time.perf_counter() - began) * 1000
            print(f"{took:7.1f} ms  {query['sql'][:300]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--explain", action="store_true", help="print each query's plan")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        teams = [team_create(name="Enterprise", segments=["enterprise"]), team_create(name="All")]
        manager = UserFactory(username="bench.manager", role="collections manager")
        agent = UserFactory(username="bench.agent", role="collections agent")
        team_member_add(team=teams[1], user=agent)
        began = time.perf_counter()
        seed(args.cases, teams)
        print(f"{connection.vendor}: seeded {Case.objects.count():,} open cases "
              f"in {time.perf_counter() - began:.1f} s")  # fmt: skip
        began = time.perf_counter()
        cases_refresh()
        print(f"cases_refresh (resolve paid-up, re-rank all): "
              f"{(time.perf_counter() - began) * 1000:.0f} ms")  # fmt: skip
        if args.explain:
            explain(manager)
        for who, user in (("manager", manager), ("agent", agent)):
            client = Client()
            client.force_login(user)
            for label, params in (
                ("first page", {}),
                ("page 400", {"page": 400} if who == "manager" else {"page": 200}),
                ("segment + decline filter", {"segment": "growth",
                                              "decline_category": "soft_decline"}),
                ("unassigned", {"assignee": "none"}),
            ):  # fmt: skip
                p50, worst, queries = measure(client, params)
                print(f"{who:8} {label:26} p50 {p50:6.0f} ms  max {worst:6.0f} ms  "
                      f"{queries} queries")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
