"""Customers answering a request to update their card (a hosted page Dunwell asked for).

Chargebee's ``update_payment_method`` hosted page is where a customer replaces the card;
the sandbox only records that the page was created. While the business runs live, each new
page of a simulated customer is answered with a probability scaled by their responsiveness,
some hours later, through the simulator's own "customer updates the card" event (the same
``payment_source_updated`` as a customer acting on their own). A renewal after that charges
the new card; one on the expired card fails (``Simulator._on_renewal``).

Our assumption, no published figure: 45% of an average customer answer a pre-emptive
request (the engine's ``PROACTIVE_CARD_UPDATE`` for the card-expiring email is 35%; a
request with a link is a little more effective).
"""

from __future__ import annotations

import random

from sandbox.simulator import parameters as p

REQUEST_PAGE = "update_payment_method"
ANSWER_SHARE = 0.45
ANSWER_HOURS = (1.0, 72.0)


class CardRequests:
    """Looks at the hosted pages created since it last looked; seeded, so runs repeat."""

    def __init__(self, simulator, *, seed: int = 0, share: float = ANSWER_SHARE):
        self.simulator = simulator
        self.rng = random.Random(f"card-requests-{seed}")
        self.share = share
        self.seen: set[str] = set()
        self.answered = 0

    def react(self) -> int:
        """Schedule the answers to new requests; returns how many will be answered."""
        sim = self.simulator
        with sim.sandbox.lock:
            pages = [
                page
                for page in sim.sandbox.hosted_pages.values()
                if page["id"] not in self.seen and page["kind"] == REQUEST_PAGE
            ]
            scheduled = 0
            for page in sorted(pages, key=lambda page: page["id"]):
                self.seen.add(page["id"])
                customer = sim.customers.get(page.get("customer_id", ""))
                if customer is None:
                    continue
                if self.rng.random() < self.share * (0.5 + customer.responsiveness):
                    hours = self.rng.uniform(*ANSWER_HOURS)
                    sim.schedule(
                        sim.clock.now + hours * p.HOUR, "customer_card_update", customer.customer_id
                    )
                    scheduled += 1
        self.answered += scheduled
        return scheduled
