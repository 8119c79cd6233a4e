"""Desk benchmark: the collections queue and the approval inbox at 50,000 open cases and
50,000 waiting actions on PostgreSQL, p50 and p99 server time and SQL queries per request.

Seeds once into a kept database (``dunwell_bench_desk``; ``--reseed`` drops and refills it):
per case a customer, an invoice with its failed payment, a decision and one action waiting
for approval, spread over four teams (one of them the shared pool), three segments, five
currencies, the action kinds (a third of them messages on email, SMS or in-app), both risks
and two weeks of waiting; every ninth invoice due long ago, every tenth one Chargebee gave
up on. Message actions carry the draft the proposal-time job keeps (one drafted per purpose,
channel and segment with the sending code, copied to its like); every 40th is left without
one, as an action whose job has not run yet. Then the real ``cases_refresh`` ranks them.

Requests go through Django's test client against the real views (session, permissions,
the page). "cold": the cache, the loaded models and rates cleared and a new database
connection before each request; "warm": the same request repeated. Target: under 300 ms
p50 on PostgreSQL.

    .venv/bin/python bench/desk.py [--reseed] [--cases 50000] [--runs 30] [--explain]

``DATABASE_URL`` defaults to postgres://postgres@127.0.0.1:5432/dunwell_bench_desk.

Measured 2026-12-02 on the shared 2-core machine (load average 3-6, other test runs going),
p50 of 30 warm requests: queue 135-175 ms (12-13 queries), bulk-approve count 215-235 ms
(10), inbox 227-564 ms (12-13): the target is missed by the inbox's grouped count over
every waiting action (~110-220 ms) plus rendering 50 cards. The full table is in docs/desk.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dunwell_bench_desk")


def database_ensure(*, url: str, drop: bool) -> None:
    """Create the kept database if it is missing (drop it first with ``drop``)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30, help="requests per measurement")
    parser.add_argument("--reseed", action="store_true", help="drop the kept database first")
    parser.add_argument("--explain", action="store_true", help="time each query of the slowest")
    parser.add_argument("--only", default="", help="run the measurements whose label has this")
    return parser.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:
    database_ensure(url=os.environ["DATABASE_URL"], drop=ARGS.reseed)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
SEGMENTS = ("self_serve", "growth", "enterprise")
CATEGORIES = ("soft_decline", "hard_decline", "insufficient_funds", "expired_card")
CURRENCIES = ("USD",) * 10 + ("EUR",) * 4 + ("GBP",) * 3 + ("JPY",) * 2 + ("INR",)
DECLINES = (
    ("51", "insufficient_funds"),
    ("54", "expired_card"),
    ("05", "do_not_honor"),
    ("1A", "authentication_required"),
    ("91", "processing_error"),
)
# Twenty slots: the share of each kind among waiting actions.
KINDS = (
    ("message",) * 6
    + ("payment_method_link",) * 2
    + ("authentication_link",)
    + ("retry",) * 5
    + ("offer", "escalate", "take_over", "write_off", "cancel_subscription", "stop_dunning")
)
CHANNELS = ("email",) * 7 + ("sms",) * 2 + ("in_app",)
TEAMS = ("Enterprise", "Growth", "Self-serve")


def _amount(n: int, currency: str) -> int:
    major = 20 + (n * 37) % 2_000
    return major if currency == "JPY" else major * 100 + n % 100


def seed(cases: int, batch: int = 5000, *, prefix: str = "") -> None:
    """The cases and what they hang on; ``prefix`` starts every Chargebee id (``cus_7`` becomes
    ``desk_cus_7``) so these rows can share a database with another bench's seed."""
    from collections_desk.models import Case, Team
    from dunning.decisions.latest import invoices_latest_decision_refresh
    from dunning.models import (
        ALWAYS_NEEDS_APPROVAL,
        Action,
        Customer,
        Decision,
        Invoice,
        Transaction,
    )

    now = timezone.now()
    teams = list(Team.objects.filter(name__in=TEAMS).order_by("name"))
    for start in range(0, cases, batch):
        ids = range(start, min(start + batch, cases))
        Customer.objects.bulk_create(
            [
                Customer(
                    cb_id=f"{prefix}cus_{n}",
                    resource_version=1,
                    first_name=f"Ada{n % 97}",
                    last_name=str(n),
                    email=f"c{n}@example.test",
                    raw={"phone": f"+1555{n:07d}"},
                    cb_created_at=START - timedelta(days=n % 900),
                )
                for n in ids
            ]
        )
        Invoice.objects.bulk_create(
            [
                Invoice(
                    cb_id=f"{prefix}inv_{n}",
                    customer_id=f"{prefix}cus_{n}",
                    status="not_paid" if n % 10 == 0 else "payment_due",
                    dunning_status="exhausted" if n % 10 == 0 else "in_progress",
                    currency_code=CURRENCIES[n % 20],
                    total=_amount(n, CURRENCIES[n % 20]),
                    amount_due=_amount(n, CURRENCIES[n % 20]),
                    resource_version=1,
                    due_date=now - timedelta(days=(n * 7) % 120 + (90 if n % 9 == 0 else 0)),
                )
                for n in ids
            ]
        )
        Transaction.objects.bulk_create(
            [
                Transaction(
                    cb_id=f"{prefix}txn_{n}",
                    customer_id=f"{prefix}cus_{n}",
                    invoice_id=f"{prefix}inv_{n}",
                    type="payment",
                    status="failure",
                    resource_version=1,
                    amount=_amount(n, CURRENCIES[n % 20]),
                    currency_code=CURRENCIES[n % 20],
                    date=now - timedelta(hours=n % 400),
                    gateway="stripe",
                    decline_code=DECLINES[n % 5][0],
                    error_category=DECLINES[n % 5][1],
                )
                for n in ids
            ]
        )
        decisions = Decision.objects.bulk_create(
            [
                Decision(
                    invoice_id=f"{prefix}inv_{n}",
                    customer_id=f"{prefix}cus_{n}",
                    trigger="payment_failed",
                    as_of=START + timedelta(minutes=n),
                    recovery_score=(n % 97) / 100,
                    model_version="recovery v1",
                    segment=SEGMENTS[n % 3],
                    mode="approve",
                    reasoning="The bank declined it; a retry on payday recovers most.",
                )
                for n in ids
            ]
        )
        actions = []
        for n, d in zip(ids, decisions, strict=True):
            kind = KINDS[(n * 7) % 20]
            sends = kind in ("message", "payment_method_link", "authentication_link")
            params = {}
            if kind == "message" and n % 2 == 0:
                params = {
                    "template": "payment_failed_retry_scheduled",
                    "retry_at": (now + timedelta(days=2)).isoformat(),
                }
            high = kind in ALWAYS_NEEDS_APPROVAL or n % 5 == 0
            actions.append(
                Action(
                    decision=d,
                    invoice_id=d.invoice_id,
                    customer_id=d.customer_id,
                    kind=kind,
                    channel=CHANNELS[n % 10] if sends else "",
                    mode="approve",
                    needs_approval=True,
                    risk="high" if high else "low",
                    params=params,
                    approval_reason="approve mode" if not high else "high risk",
                    scheduled_for=now + timedelta(minutes=n % 5000),
                )
            )
        Action.objects.bulk_create(actions)
        invoices_latest_decision_refresh(invoice_ids=[d.invoice_id for d in decisions])
        made = Case.objects.bulk_create(
            [
                Case(
                    customer_id=f"{prefix}cus_{n}",
                    team=teams[n % 3] if n % 10 else None,
                    reason="1 action waits",
                    segment=SEGMENTS[n % 3],
                    decline_category=CATEGORIES[n % 4],
                    currency=CURRENCIES[n % 20],
                    amount_due=_amount(n, CURRENCIES[n % 20]),
                    recovery_score=(n % 97) / 100,
                    lifetime_value=(n % 300) * 1000,
                    opened_at=now - timedelta(hours=n % 700),
                    sla_due_at=now + timedelta(hours=72 - n % 700),
                )
                for n in ids
            ]
        )
        invoice_ids = [f"{prefix}inv_{n}" for n in ids]
        invoice_pks = Invoice.objects.filter(cb_id__in=invoice_ids).order_by("id")
        Case.invoices.through.objects.bulk_create(
            [
                Case.invoices.through(case_id=c.pk, invoice_id=pk)
                for c, pk in zip(made, invoice_pks.values_list("pk", flat=True), strict=True)
            ]
        )
        print(f"  seeded {start + len(ids):,}", flush=True)
    with connection.cursor() as cursor:  # two weeks of waiting, by the action's number
        cursor.execute(
            "UPDATE dunning_action SET created_at = %s - (id %% 336) * interval '1 hour'", [now]
        )
    drafts_copy()


def drafts_copy() -> None:
    """Each message action gets the draft the proposal-time job keeps: one drafted per purpose,
    channel and segment with the sending code, copied to the others like it (every 40th is
    left without: its job has not run yet)."""
    from dunning.actions.channels.case_context import MESSAGE_KINDS
    from dunning.actions.channels.preview import message_draft_keep
    from dunning.models import Action

    waiting = Action.objects.filter(kind__in=MESSAGE_KINDS, state="proposed")
    combos = waiting.values_list("kind", "channel", "decision__segment", "params__template")
    for kind, channel, segment, template in set(combos):
        like = waiting.filter(kind=kind, channel=channel, decision__segment=segment)
        like = (
            like.filter(params__template=template)
            if template
            else like.exclude(params__has_key="template")
        )
        model = message_draft_keep(action=like.select_related("decision").first())
        draft = model.params.get("draft")
        if not draft:
            print(f"  no draft for {kind} {channel} {segment} {template}")
            continue
        ids = list(like.exclude(pk=model.pk).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE dunning_action SET params = params || jsonb_build_object('draft', "
                "%s::jsonb) WHERE id = ANY(%s) AND id %% 40 <> 0",
                [__import__("json").dumps(draft), ids],
            )


def people() -> dict:
    from collections_desk.models import Team
    from collections_desk.teams import team_create, team_member_add
    from tests.factories import UserFactory

    if not Team.objects.filter(name__in=TEAMS).exists():
        team_create(name="Enterprise", segments=["enterprise"])
        team_create(name="Growth", segments=["growth"])
        team_create(name="Self-serve", segments=["self_serve"])
    agent = UserFactory(username="bench.agent", role="collections agent")
    team_member_add(team=Team.objects.get(name="Growth"), user=agent)  # idempotent
    return {
        "agent": agent,
        "manager": UserFactory(username="bench.manager", role="collections manager"),
        "admin": UserFactory(username="bench.admin", role="admin"),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def caches_clear() -> None:
    """What the first request after a deploy finds: the shared cache empty, and neither the
    models nor the historical recovery rates loaded in this process."""
    from collections_desk.recovery_rates import recovery_rates_forget
    from dunning.decisions.learning.scoring import scorers_forget

    cache.clear()
    scorers_forget()
    recovery_rates_forget()


def measure(
    user,
    url: str,
    params: dict,
    *,
    runs: int,
    cold: bool,
    expect: int = 200,
    new_connection: bool = True,
) -> tuple[float, float, int]:
    """p50 and p99 ms of ``runs`` requests, and the SQL queries of the last one. ``expect``:
    the status each must answer (a page that redirects, or refuses a stale link, is 302/4xx).
    ``cold`` clears the caches first and, with ``new_connection``, opens a new database
    connection (a new PostgreSQL backend, its catalog caches empty); without it the
    connection is kept, as production's ``CONN_MAX_AGE`` keeps it between requests."""
    client = Client()
    client.force_login(user)
    timings, queries = [], 0
    for _ in range(runs):
        connection.queries_log.clear()  # counted per request; the log keeps 9,000 at most
        if cold:
            caches_clear()
            if new_connection:
                connections.close_all()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == expect, (url, params, response.status_code)
        queries = len(captured)
    return statistics.median(timings), percentile(timings, 0.99), queries


def explain(user, url: str, params: dict) -> None:
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        client.get(url, params)
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            began = time.perf_counter()
            cursor.execute(query["sql"])
            took = (time.perf_counter() - began) * 1000
            if took > 5:
                print(f"{took:7.1f} ms  {query['sql'][:400]}")


def scenarios(users: dict) -> list[tuple[str, str, str, dict]]:
    from collections_desk.models import Team

    growth = str(Team.objects.get(name="Growth").pk)
    rows = []
    for who in ("manager", "agent"):
        rows += [
            (who, "queue first page", "/collections/", {}),
            (who, "queue page 300", "/collections/", {"page": 300 if who == "manager" else 100}),
            (who, "queue 31-60 days", "/collections/", {"age": "31_60"}),
        ]
    for who in ("agent", "manager", "admin"):
        rows += [
            (who, "inbox mine", "/collections/approvals/", {}),
            (who, "inbox everything", "/collections/approvals/", {"show": "all"}),
            (
                who,
                "inbox mine email+growth",
                "/collections/approvals/",
                {"channel": "email", "segment": "growth"},
            ),
            (
                who,
                "inbox all msg+team+age",
                "/collections/approvals/",
                {"show": "all", "kind": "message", "team": growth, "age": "days"},
            ),
        ]
    rows += [
        (
            "manager",
            "bulk count email+growth",
            "/collections/approvals/bulk/",
            {"channel": "email", "segment": "growth"},
        ),
        ("agent", "bulk count sms", "/collections/approvals/bulk/", {"channel": "sms"}),
    ]
    return rows


def main() -> None:
    from collections_desk.cases import cases_refresh
    from collections_desk.models import Case
    from dunning.models import Action

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    users = people()
    if not Case.objects.exists():
        began = time.perf_counter()
        seed(ARGS.cases)
        print(f"seeded in {time.perf_counter() - began:.0f} s")
        with connection.cursor() as cursor:  # the refresh's plans need the new rows' statistics
            cursor.execute("ANALYZE")
        began = time.perf_counter()
        cases_refresh()
        print(f"cases_refresh: {time.perf_counter() - began:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    waiting = Action.objects.filter(state="proposed", needs_approval=True).count()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: "
        f"{Case.objects.count():,} cases, {waiting:,} waiting actions; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for who, label, url, params in scenarios(users):
        if ARGS.only and ARGS.only not in label:
            continue
        if ARGS.explain:
            print(f"--- {who} {label}")
            explain(users[who], url, params)
        for temperature in ("cold", "warm"):
            runs = max(3, ARGS.runs // 3) if temperature == "cold" else ARGS.runs
            p50, p99, queries = measure(
                users[who], url, params, runs=runs, cold=temperature == "cold"
            )
            print(
                f"{who:8} {label:26} {temperature}  p50 {p50:6.0f} ms  p99 {p99:6.0f} ms  "
                f"{queries:3} queries ({runs} requests)",
                flush=True,
            )


if __name__ == "__main__":
    main()
