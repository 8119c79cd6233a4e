"""Simulated customers answer a request to update their card (a pre-dunning campaign)."""

from __future__ import annotations

from sandbox.simulator import parameters as p
from sandbox.simulator.card_requests import CardRequests
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox

END = 1_790_000_000


def business():
    sandbox = Sandbox()
    return sandbox, simulate_history(sandbox, customers=40, months=2, seed=3, end=END)


def card_updates(sandbox, customer_id: str) -> list[dict]:
    return [
        event
        for event in sandbox.events
        if event["event_type"] == "payment_source_updated"
        and event["content"]["customer"]["id"] == customer_id
    ]


def test_a_customer_asked_to_update_the_card_replaces_it_through_the_hosted_page():
    sandbox, simulator = business()
    asked, not_asked = list(simulator.customers)[:2]
    sandbox.hosted_page(kind="update_payment_method", customer_id=asked)
    sandbox.hosted_page(kind="collect_now", customer_id=not_asked)  # a payment, not a card
    before = len(card_updates(sandbox, asked)), len(card_updates(sandbox, not_asked))
    requests = CardRequests(simulator, share=2.0)  # everyone answers

    assert requests.react() == 1
    assert requests.react() == 0  # a page is answered once
    simulator.run_until(END + 4 * p.DAY)

    [update] = card_updates(sandbox, asked)[before[0] :]
    assert update["source"] == "hosted_page"
    assert len(card_updates(sandbox, not_asked)) - before[1] <= 1  # only what it did anyway


def test_nobody_answers_when_the_share_is_zero():
    sandbox, simulator = business()
    customer = next(iter(simulator.customers))
    sandbox.hosted_page(kind="update_payment_method", customer_id=customer)

    assert CardRequests(simulator, share=0.0).react() == 0
