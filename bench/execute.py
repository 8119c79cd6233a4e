"""Executor benchmark: how fast due actions run, and what the sweep costs with many waiting.

Seeds --actions failed renewals in an in-process Chargebee sandbox (mirrored into a
throwaway test database), each with an approved retry that is due, then:

1. run      one RQ SimpleWorker runs every action's job: claim, re-checks, collect_payment
            and the comment over HTTP through the SDK, the mirror update, the audit entry.
            Reported: actions/s and ms per action. Chargebee's request budget is lifted for
            the run (``CHARGEBEE_REQUESTS_PER_MINUTE``) to measure Dunwell itself; a real
            test site's 150 requests a minute caps retries at ~75 a minute (2 calls each).
2. sweep    with --waiting scheduled actions not yet due, the time of one sweep that finds
            nothing to do (the query the embedded worker and rqcron run every minute).

Measured 2026-11-24 on the shared 2-core dev machine, SQLite + embedded Redis, sandbox in
the same process: 200 retries in 24.0 s = 8 actions/s (120 ms each; ~44 ms per SDK call, most
of it the SDK parsing responses and the in-process sandbox sharing the CPU); sweep with 2,000
waiting actions 0.8 ms. Chargebee's own limit (150 requests a minute on test sites) is the
real ceiling: ~75 retries a minute.

    CHARGEBEE_REQUESTS_PER_MINUTE=100000 .venv/bin/python bench/execute.py [--actions 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CHARGEBEE_REQUESTS_PER_MINUTE", "100000")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from rq import SimpleWorker  # noqa: E402

from dunning.actions.execution.sweep import actions_sweep  # noqa: E402
from dunning.actions.state_machine import action_transition  # noqa: E402
from dunning.decisions.enrichment import mirror_store  # noqa: E402
from dunning.decisions.latest import decision_create  # noqa: E402
from dunning.decisions.policy_settings.guardrails import guardrails_update  # noqa: E402
from dunning.helpers.queueing import get_queue, redis_connection  # noqa: E402
from dunning.models import Action, ActionState  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402


def seed(server: SandboxServer, count: int, *, due: bool) -> None:
    sandbox = server.sandbox
    at = timezone.now() + (timedelta(seconds=-1) if due else timedelta(days=2))
    for n in range(count):
        customer = sandbox.create_customer(first_name="C", last_name=str(n), email=f"{n}@x.test")
        card = sandbox.add_card(customer_id=customer["id"], behaviour=["insufficient_funds"])
        subscription = sandbox.create_subscription(
            customer_id=customer["id"], plan_id="pro", unit_price=4900
        )
        invoice = sandbox.create_invoice(subscription_id=subscription["id"])
        sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
        for key, obj in (
            ("customer", sandbox.customers[customer["id"]]),
            ("payment_source", card),
            ("subscription", subscription),
            ("invoice", sandbox.invoices[invoice["id"]]),
        ):
            mirror_store(key=key, obj=obj)
        decision = decision_create(
            invoice_id=invoice["id"],
            customer_id=customer["id"],
            trigger="payment_failed",
            as_of=timezone.now(),
            model_version="bench",
            segment="self_serve",
            mode="auto",
            reasoning="bench retry",
            features={"gateway": "stripe"},
        )
        action = Action.objects.create(
            decision=decision,
            invoice_id=invoice["id"],
            customer_id=customer["id"],
            kind="retry",
            scheduled_for=at,
            mode="auto",
            needs_approval=False,
        )
        action_transition(action=action, to=ActionState.SCHEDULED, actor_label="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--waiting", type=int, default=2000)
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    server = SandboxServer().start()
    settings.CHARGEBEE_API_BASE, settings.CHARGEBEE_API_KEY = server.url, server.sandbox.api_key
    try:
        redis_connection().flushdb()
        guardrails_update(changes={"default_mode": "auto"}, user=None, note="bench")
        seed(server, args.actions, due=True)
        queue = get_queue("actions")
        print(f"{connection.vendor}, {args.actions} due retries, {queue.count} jobs queued")
        started = time.perf_counter()
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        elapsed = time.perf_counter() - started
        done = Action.objects.filter(state=ActionState.EXECUTED).count()
        print(
            f"run:   {done} executed in {elapsed:.1f} s = {done / elapsed:.0f} actions/s, "
            f"{1000 * elapsed / max(done, 1):.1f} ms per action"
        )
        seed(server, args.waiting, due=False)
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            found = actions_sweep()
            timings.append(time.perf_counter() - started)
        print(
            f"sweep: {args.waiting} waiting, {found} due: p50 "
            f"{1000 * statistics.median(timings):.1f} ms"
        )
    finally:
        server.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
