"""A small subscription business for ``make demo``: a few months of renewals and dunning.

This is a stand-in until the full simulator exists: it gives the demo real customers,
real failed payments and real recoveries, all delivered to Dunwell as webhooks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.store import Sandbox

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farah", "Gustav", "Hana", "Ivan", "Jia",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"]  # fmt: skip
LAST = ["Silva", "Okafor", "Müller", "Tanaka", "Novak", "García", "Haddad", "Johansson",
        "Kowalski", "Larsen", "Moreau", "Nguyen", "O'Brien", "Patel", "Rossi"]  # fmt: skip
COUNTRIES = [("US", "USD"), ("GB", "GBP"), ("DE", "EUR"), ("FR", "EUR"), ("CA", "USD"),
             ("AU", "USD"), ("NL", "EUR"), ("SE", "EUR")]  # fmt: skip
PLANS = [("starter", 1900), ("pro", 4900), ("business", 14900)]
# Share of first attempts that fail, and how likely each decline recovers on a later retry.
FAILURE_RATE = 0.18
DECLINE_MIX = [
    ("insufficient_funds", 0.40, 0.55),
    ("do_not_honor", 0.20, 0.35),
    ("expired_card", 0.15, 0.05),
    ("processing_error", 0.10, 0.80),
    ("authentication_required", 0.08, 0.10),
    ("lost_or_stolen", 0.07, 0.0),
]
DAY = 86400
RETRY_DAYS = (1, 3, 5)  # Chargebee Dunning V2 "custom": three retries


@dataclass
class DemoClock:
    now: float

    def __call__(self) -> float:
        return self.now


def _pick_decline(rng: random.Random) -> tuple[str, float]:
    roll = rng.random()
    for name, share, recovery in DECLINE_MIX:
        roll -= share
        if roll <= 0:
            return name, recovery
    return DECLINE_MIX[0][0], DECLINE_MIX[0][2]


def seed_demo_business(
    sandbox: Sandbox, *, customers: int, months: int, seed: int, end: float
) -> None:
    """Create ``customers`` subscribers and run ``months`` of monthly renewals up to ``end``."""
    rng = random.Random(seed)
    clock = DemoClock(end - months * 30 * DAY - 5 * DAY)
    sandbox.clock = clock
    subscriptions = []
    for n in range(customers):
        clock.now += rng.uniform(0, 5 * DAY / customers)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        country, currency = rng.choice(COUNTRIES)
        customer = sandbox.create_customer(
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{n}@example.com".lower(),
            country=country,
            currency=currency,
            company=f"{last} {rng.choice(['Labs', 'GmbH', 'Studio', 'Ltd'])}",
        )
        sandbox.add_card(
            customer_id=customer["id"],
            brand=rng.choice(["visa", "visa", "mastercard"]),
            last4=f"{rng.randint(0, 9999):04d}",
            expiry_month=rng.randint(1, 12),
            expiry_year=rng.randint(2026, 2030),
        )
        plan, price = rng.choice(PLANS)
        subscriptions.append(
            sandbox.create_subscription(
                customer_id=customer["id"],
                plan_id=f"{plan}-{currency}-monthly",
                unit_price=price,
                currency=currency,
            )
        )
    renewals = []
    for month in range(months):
        for subscription in subscriptions:
            renewals.append((clock.now + month * 30 * DAY + rng.uniform(0, 30 * DAY), subscription))
    renewals.sort(key=lambda item: item[0])
    pending_retries: list[tuple[float, str, int, bool]] = []
    for when, subscription in renewals:
        if when > end:
            break
        _run_retries_due(sandbox, clock, pending_retries, until=when)
        clock.now = when
        invoice = sandbox.create_invoice(subscription_id=subscription["id"])
        source_id = sandbox.customers[subscription["customer_id"]]["primary_payment_source_id"]
        if rng.random() < FAILURE_RATE:
            decline, recovery = _pick_decline(rng)
            sandbox.behaviours[source_id] = [decline]
            sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
            recovers = rng.random() < recovery
            retry = rng.randrange(len(RETRY_DAYS)) if recovers else None
            for index, days in enumerate(RETRY_DAYS):
                pending_retries.append(
                    (when + days * DAY + rng.uniform(0, 3600), invoice["id"], index, retry == index)
                )
            pending_retries.sort()
        else:
            sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
    _run_retries_due(sandbox, clock, pending_retries, until=end)
    clock.now = end


def _run_retries_due(sandbox: Sandbox, clock: DemoClock, pending: list, *, until: float) -> None:
    while pending and pending[0][0] <= until:
        when, invoice_id, index, succeeds = pending.pop(0)
        invoice = sandbox.invoices[invoice_id]
        if (
            invoice["status"] not in ("payment_due", "not_paid")
            or invoice.get("dunning_status") != "in_progress"
        ):
            continue
        clock.now = when
        source_id = sandbox.customers[invoice["customer_id"]]["primary_payment_source_id"]
        last_decline = sandbox.transactions[invoice["dunning_attempts"][-1]["transaction_id"]]
        sandbox.behaviours[source_id] = ["succeed" if succeeds else _behaviour_of(last_decline)]
        final = index == len(RETRY_DAYS) - 1
        sandbox.charge(
            invoice_id=invoice_id,
            source="scheduled_job",
            dunning_retry_after=None if final else DAY,
        )
        if final and invoice["status"] != "paid":
            sandbox.exhaust_dunning(invoice_id=invoice_id)


def _behaviour_of(transaction: dict) -> str:
    from sandbox.store import DECLINES

    for name, (code, _text, _detail) in DECLINES.items():
        if code == transaction.get("error_code"):
            return name
    return "do_not_honor"
