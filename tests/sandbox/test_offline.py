"""The simulated business has offline payers: never charged, some paying late after a
reminder, some not at all; the demo's control route records a transfer."""

from __future__ import annotations

import time

import httpx
import pytest

from sandbox.offline import offline_invoice_create
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox, SandboxError

DAY = 86_400


@pytest.fixture(scope="module")
def quarter():
    sandbox = Sandbox()
    simulator = simulate_history(sandbox, customers=400, months=4, seed=3, end=time.time())
    return sandbox, simulator


def offline_invoices(sandbox) -> list[dict]:
    return [
        i
        for i in sandbox.invoices.values()
        if sandbox.customers[i["customer_id"]]["auto_collection"] == "off"
    ]


def test_offline_payers_are_invoiced_but_never_charged(quarter):
    sandbox, simulator = quarter
    invoices = offline_invoices(sandbox)

    assert len(simulator.offline.customers) == 16  # 4% of 400
    assert invoices and all(i["dunning_attempts"] == [] for i in invoices)
    charged = {
        t["linked_invoices"][0]["invoice_id"]
        for t in sandbox.transactions.values()
        if t.get("payment_source_id")
    }
    assert not charged & {i["id"] for i in invoices}


def test_some_pay_after_a_reminder_and_some_stay_unpaid(quarter):
    sandbox, simulator = quarter
    invoices = offline_invoices(sandbox)
    late = [i for i in invoices if i.get("paid_at") and i["paid_at"] - i["due_date"] >= 7 * DAY]

    assert late  # paid a week or more after the due date: after a reminder
    assert simulator.offline.paid_after_reminder >= len(late)
    assert any(i["status"] == "payment_due" for i in invoices)
    payments = [
        e
        for e in sandbox.events
        if e["event_type"] == "payment_succeeded"
        and e["content"]["transaction"]["gateway"] == "not_applicable"
    ]
    assert payments  # the finance team's recorded transfers reach Dunwell as events


def test_a_card_payer_cannot_get_an_offline_invoice():
    sandbox = Sandbox()
    customer = sandbox.create_customer(first_name="C", last_name="D", email="c@d.test")
    subscription = sandbox.create_subscription(
        customer_id=customer["id"], plan_id="pro", unit_price=4900
    )

    with pytest.raises(SandboxError, match="pays automatically"):
        offline_invoice_create(sandbox, subscription_id=subscription["id"])


def test_the_demo_records_a_transfer_through_the_control_route(sandbox_server):
    from sandbox.offline import (
        offline_customer_create,
        offline_routes,
        offline_subscription_create,
    )

    sandbox = sandbox_server.sandbox
    sandbox.reset()
    offline_routes(sandbox_server)
    customer = offline_customer_create(sandbox, first_name="O", last_name="B", email="o@b.test")
    subscription = offline_subscription_create(
        sandbox, customer_id=customer["id"], plan_id="pro", unit_price=4900
    )
    invoice = offline_invoice_create(sandbox, subscription_id=subscription["id"])

    response = httpx.post(
        f"{sandbox_server.url}/__sandbox/offline_payment",
        data={"invoice_id": invoice["id"], "amount": "1900"},
        auth=(sandbox.api_key, ""),
    )

    assert response.status_code == 200
    assert response.json()["invoice"]["status"] == "payment_due"  # a part payment
    assert sandbox.invoices[invoice["id"]]["amount_due"] == 3000
