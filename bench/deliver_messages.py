"""Message delivery benchmark: how long Dunwell's own part of sending a message takes.

Seeds --messages customers, each with a declined invoice and a "payment failed, retry
scheduled" email action, into a throwaway test database, then delivers every action with
``message_deliver`` (quiet hours off, Django's in-memory email backend) and prints the
messages per second and p50/p99 per message: first with the built-in drafter, then with the
LLM drafter against a local OpenAI-compatible server that answers at once (so the figure
is Dunwell's overhead: prompt, SDK call, validation, fill, store, audit; a real model adds
its own seconds). Target: p99 under 50 ms with the built-in drafter.

Measured 2026-11-24 on the shared 2-core dev machine (other agents running), 300 messages:
  SQLite      builtin 131/s, p50 5.6 ms, p99 20.0 ms (a later, busier run: 70/s, 10.6 / 22.6 ms)
              llm     57/s, p50 16.7 ms, p99 51.7 ms (one cached SDK client per endpoint;
                      building a client per message gave 18/s, p50 56.6 ms)
  PostgreSQL  builtin 40/s, p50 22.2 ms, p99 38.6 ms (a busier run: 25/s, 28.8 / 87.2 ms)
              llm     25/s, p50 35.9 ms, p99 79.9 ms
Most of the PostgreSQL time is the audit append (advisory lock + chained hash) and the
message's claim and update, three commits per message.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunwell_bench \\
        .venv/bin/python bench/deliver_messages.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from dunning.actions.channels.delivery import message_deliver  # noqa: E402
from dunning.decisions.latest import decision_create  # noqa: E402
from dunning.models import Action, Customer, Invoice, Transaction  # noqa: E402
from tests.dunning.actions.channels.conftest import RecordingServer, chat_completion  # noqa: E402

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ANSWER = json.dumps(
    {
        "subject": "About your payment",
        "body": "Hi {first_name}, your {amount} payment failed. We retry on {retry_date}. "
        "Another card: {pay_link}",
    }
)


def seed(n: int, offset: int) -> list[Action]:
    actions = []
    for i in range(offset, offset + n):
        customer = Customer.objects.create(
            cb_id=f"cus_{i}",
            first_name="Sam",
            email=f"sam{i}@example.org",
            country="US",
            resource_version=1,
            cb_created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        Invoice.objects.create(
            cb_id=f"inv_{i}",
            customer=customer,
            status="payment_due",
            currency_code="USD",
            total=4900,
            amount_due=4900,
            resource_version=1,
        )
        Transaction.objects.create(
            cb_id=f"txn_{i}",
            customer=customer,
            invoice_id=f"inv_{i}",
            type="payment",
            status="failure",
            date=AT,
            decline_code="51",
            resource_version=1,
        )
        decision = decision_create(
            invoice_id=f"inv_{i}",
            customer=customer,
            trigger="payment_failed",
            as_of=AT,
            model_version="bench",
            segment="self_serve",
            mode="auto",
            reasoning="bench",
        )
        action = Action.objects.create(
            decision=decision,
            invoice_id=f"inv_{i}",
            customer=customer,
            kind="message",
            channel="email",
            mode="auto",
            state="scheduled",
            scheduled_for=AT,
            params={
                "template": "payment_failed_retry_scheduled",
                "retry_at": "2030-11-06T09:00:00+00:00",
                "payment_method_link": True,
            },
        )
        actions.append(action)
    return actions


def run(label: str, actions: list[Action]) -> None:
    times = []
    started = time.perf_counter()
    for action in actions:
        t = time.perf_counter()
        result = message_deliver(action=action, links={"pay_link": "https://pay.example/x"})
        times.append((time.perf_counter() - t) * 1000)
        assert result.status == "sent", result
    total = time.perf_counter() - started
    times.sort()
    print(
        f"{label:>8}: {len(actions)} messages, {len(actions) / total:,.0f}/s, "
        f"p50 {statistics.median(times):.1f} ms, p99 {times[int(len(times) * 0.99) - 1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    server = RecordingServer(lambda path, body: (200, chat_completion(ANSWER)))
    try:
        settings.QUIET_HOURS = ""
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.DRAFTER = "builtin"
        run("builtin", seed(args.messages, 0))
        settings.DRAFTER = "llm"
        settings.LLM_BASE_URL = f"{server.url}/v1"
        run("llm", seed(args.messages, args.messages))
        print(f"database: {connection.vendor}")
    finally:
        server.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
