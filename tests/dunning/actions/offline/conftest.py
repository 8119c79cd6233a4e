"""An offline payer in the sandbox, their invoice delivered to Dunwell as a real webhook."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from sandbox.offline import (
    offline_customer_create,
    offline_invoice_create,
    offline_subscription_create,
)
from tests.dunning.decisions.delivery import events_of, wall_clock  # noqa: F401


@pytest.fixture
def deliver(post_webhook, work, django_capture_on_commit_callbacks):
    """Chargebee POSTs the event; the worker processes it, decides, runs what is due."""

    def deliver(event: dict) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_webhook(event).status_code == 200
        work()

    return deliver


@pytest.fixture
def mode(admin_user):
    """Set the automation mode every segment runs in."""

    def set_mode(name: str):
        return guardrails_update(changes={"default_mode": name}, user=admin_user, note=name)

    return set_mode


@pytest.fixture
def offline_invoice(wall_clock, deliver):  # noqa: F811
    """Olga pays by bank transfer; her renewal invoice is due today. Dunwell hears of it
    only through the invoice_generated webhook (the customer is read through the SDK)."""

    def make(*, price: int = 29_900, country: str = "US", deliver_event: bool = True) -> dict:
        sandbox = wall_clock
        customer = offline_customer_create(
            sandbox, first_name="Olga", last_name="Berg", email="olga@berg.test", country=country
        )
        subscription = offline_subscription_create(
            sandbox, customer_id=customer["id"], plan_id="business-USD-monthly", unit_price=price
        )
        invoice = offline_invoice_create(sandbox, subscription_id=subscription["id"])
        if deliver_event:
            deliver(events_of(sandbox, "invoice_generated")[-1])
        return invoice

    return make


@pytest.fixture
def work(django_capture_on_commit_callbacks):
    """Run the queues to empty with a real RQ worker (what a job enqueues on commit too)."""

    def work() -> None:
        queues = [get_queue(name) for name in QUEUE_NAMES]
        for _ in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                SimpleWorker(queues, connection=redis_connection()).work(burst=True)
            if not sum(q.count for q in queues):
                return

    return work
