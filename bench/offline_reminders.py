"""Offline dunning benchmark: planning an offline payer's reminder sequence, deciding again
(nothing new is planned), and settling the invoice when the payment lands.

Seeds --invoices offline payers' due invoices in an in-process Chargebee sandbox (mirrored
into a throwaway test database), guardrails in approve mode (so each gets a case), then:

1. plan      ``decision_make`` per invoice: context, policy, 4 reminder actions, the case.
2. again     a second decision per invoice (a duplicate event): no new action.
3. settle    the finance team records each payment in Chargebee; the mirror takes the paid
             invoice and ``invoice_payment_settle`` cancels its reminders and resolves the case.

Measured 2026-11-24 on the shared 2-core dev machine (8 sessions busy on it), SQLite +
embedded Redis, sandbox in process, 100 invoices: plan p50 275 ms (27.0 s in all, 400
reminders), again p50 218 ms (400 actions still: nothing planned twice), settle p50 167 ms
(100 cases resolved, 400 reminders cancelled; each resolution also proposes the survey).

    .venv/bin/python bench/offline_reminders.py [--invoices 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from collections_desk.models import Case, CaseState  # noqa: E402
from dunning.decisions.enrichment import mirror_store  # noqa: E402
from dunning.decisions.policy_settings.guardrails import guardrails_update  # noqa: E402
from dunning.helpers.queueing import redis_connection  # noqa: E402
from dunning.models import Action, ActionState  # noqa: E402
from dunning.pipeline.decide import decision_make  # noqa: E402
from dunning.pipeline.settle import invoice_payment_settle  # noqa: E402
from sandbox.offline import (  # noqa: E402
    offline_customer_create,
    offline_invoice_create,
    offline_payment_received,
    offline_subscription_create,
)
from sandbox.server import SandboxServer  # noqa: E402


def seed(sandbox, count: int) -> list[str]:
    ids = []
    for n in range(count):
        customer = offline_customer_create(
            sandbox, first_name="O", last_name=str(n), email=f"o{n}@x.test"
        )
        subscription = offline_subscription_create(
            sandbox, customer_id=customer["id"], plan_id="business", unit_price=29_900
        )
        invoice = offline_invoice_create(sandbox, subscription_id=subscription["id"])
        for key, obj in (
            ("customer", sandbox.customers[customer["id"]]),
            ("subscription", sandbox.subscriptions[subscription["id"]]),
            ("invoice", sandbox.invoices[invoice["id"]]),
        ):
            mirror_store(key=key, obj=obj)
        ids.append(invoice["id"])
    return ids


def timed(label: str, ids: list[str], run) -> None:
    timings = []
    for invoice_id in ids:
        started = time.perf_counter()
        run(invoice_id)
        timings.append(time.perf_counter() - started)
    total = sum(timings)
    print(
        f"{label}: {len(ids)} in {total:.2f} s, p50 {1000 * statistics.median(timings):.1f} ms, "
        f"max {1000 * max(timings):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    server = SandboxServer().start()
    settings.CHARGEBEE_API_BASE, settings.CHARGEBEE_API_KEY = server.url, server.sandbox.api_key
    try:
        redis_connection().flushdb()
        guardrails_update(changes={"default_mode": "approve"}, user=None, note="bench")
        ids = seed(server.sandbox, args.invoices)
        print(f"{connection.vendor}, {len(ids)} offline invoices due")

        def decide(invoice_id: str) -> None:
            decision_make(invoice_id=invoice_id, trigger="dunning_started", at=timezone.now())

        timed("plan  ", ids, decide)
        planned = Action.objects.count()
        timed("again ", ids, decide)
        print(
            f"        actions {planned} after the first decisions, "
            f"{Action.objects.count()} after the second"
        )

        def settle(invoice_id: str) -> None:
            mirror_store(
                key="invoice", obj=offline_payment_received(server.sandbox, invoice_id=invoice_id)
            )
            invoice_payment_settle(invoice_id=invoice_id)

        timed("settle", ids, settle)
        resolved = Case.objects.filter(state=CaseState.RESOLVED).count()
        cancelled = Action.objects.filter(state=ActionState.CANCELLED).count()
        print(f"        cases resolved {resolved}, reminders cancelled {cancelled}")
    finally:
        server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
