"""The business's offline payers: invoiced with net terms, paying by transfer or cheque.

A small share of customers (larger accounts, mostly) have ``auto_collection`` off. Their
renewal invoice is due after net terms and never charged; most pay around the due date,
others only after a reminder a week or two later, a few in two parts, and some not at all.
The finance team records each payment in Chargebee (``payment_succeeded``).

It keeps its own random numbers, so adding it leaves the card-paying business's draws (and
every rate the tests check against published figures) exactly as they were.

No published figures exist for these rates: they are our assumptions, kept here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.offline import (
    offline_customer_create,
    offline_invoice_create,
    offline_payment_received,
    offline_subscription_create,
)

DAY = 86_400
SHARE = 0.04  # assumption: offline payers among customers
NET_TERM_DAYS = (0, 0, 14, 30)  # assumption: due on receipt, or net 14 / net 30
# Assumption: when they pay, in days after the due date (the demo's reminder days are 0, 7,
# 14 and a final notice at 21: each window is the reminder that moved them).
PAYMENT_WINDOWS = (
    (0.45, 0.0, 5.0),  # around the due date
    (0.20, 7.0, 11.0),  # after the first follow-up
    (0.12, 14.0, 18.0),  # after the second
    (0.08, 21.0, 26.0),  # after the final notice
)  # the remaining 15% never pay
PARTIAL_SHARE = 0.12  # assumption: pay half first, the rest a week later
PLANS = {"business": 29_900, "pro": 9_900}
COUNTRIES = ("US", "GB", "DE", "NL", "FR")
NAMES = ("Avery", "Jordan", "Morgan", "Riley", "Quinn", "Harper", "Rowan", "Sasha")
SURNAMES = ("Holt", "Berg", "Lindqvist", "Okafor", "Moreau", "Novak", "Reyes", "Tanaka")


@dataclass
class OfflineCustomer:
    customer_id: str
    subscription_id: str
    net_term_days: int


class OfflineBusiness:
    def __init__(self, simulator, *, seed: int):
        self.simulator = simulator
        self.rng = random.Random(f"offline-{seed}")
        self.customers: dict[str, OfflineCustomer] = {}
        self.paid_after_reminder = 0
        self.never_paid = 0

    @property
    def sandbox(self):
        return self.simulator.sandbox

    def populate(self, *, customers: int) -> None:
        for _ in range(round(customers * SHARE)):
            self._add_customer()

    def _add_customer(self) -> None:
        rng, now = self.rng, self.simulator.clock.now
        first, last = rng.choice(NAMES), rng.choice(SURNAMES)
        n = len(self.customers)
        started = now - rng.uniform(60, 700) * DAY
        customer = offline_customer_create(
            self.sandbox,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.offline{n}@example.com".lower(),
            country=rng.choice(COUNTRIES),
            company=f"{last} Holdings",
            created_at=int(started),
        )
        plan = rng.choice(list(PLANS))
        term_start = now - rng.uniform(0, 30) * DAY
        subscription = offline_subscription_create(
            self.sandbox,
            customer_id=customer["id"],
            plan_id=f"{plan}-USD-monthly",
            unit_price=PLANS[plan],
            started_at=int(started),
            term_start=int(term_start),
            term_end=int(term_start + 30 * DAY),
        )
        sim = OfflineCustomer(customer["id"], subscription["id"], rng.choice(NET_TERM_DAYS))
        self.customers[sim.customer_id] = sim
        self.simulator.schedule(term_start + 30 * DAY, "offline", "renewal", sim.customer_id)

    def renewal(self, customer_id: str) -> None:
        sim = self.customers[customer_id]
        subscription = self.sandbox.subscriptions[sim.subscription_id]
        if subscription["status"] != "active":
            return
        now = self.simulator.clock.now
        self.sandbox.renew_term(subscription_id=sim.subscription_id, term_end=int(now + 30 * DAY))
        self.simulator.schedule(now + 30 * DAY, "offline", "renewal", customer_id)
        invoice = offline_invoice_create(
            self.sandbox, subscription_id=sim.subscription_id, net_term_days=sim.net_term_days
        )
        due = invoice["due_date"]
        draw, start = self.rng.random(), 0.0
        for share, low, high in PAYMENT_WINDOWS:
            start += share
            if draw < start:
                at = due + self.rng.uniform(low, high) * DAY
                if low > 0:
                    self.paid_after_reminder += 1
                if self.rng.random() < PARTIAL_SHARE:
                    half = invoice["amount_due"] // 2
                    self.simulator.schedule(at, "offline", "payment", invoice["id"], half)
                    at += 7 * DAY
                self.simulator.schedule(at, "offline", "payment", invoice["id"], 0)
                return
        self.never_paid += 1

    def payment(self, invoice_id: str, amount: int) -> None:
        invoice = self.sandbox.invoices[invoice_id]
        if invoice["status"] not in ("payment_due", "not_paid") or invoice["amount_due"] <= 0:
            return
        offline_payment_received(
            self.sandbox,
            invoice_id=invoice_id,
            amount=amount or None,
            method=self.rng.choice(("bank_transfer", "bank_transfer", "check")),
            reference=f"TRF-{self.rng.randint(10_000, 99_999)}",
        )
