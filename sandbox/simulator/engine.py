"""The simulator: a clock, a queue of things that will happen, and the business's rules.

Everything it does goes through the sandbox's store, so every state change becomes a
Chargebee event (and, when something listens, a webhook). Same seed and same time span:
the same events, byte for byte.
"""

from __future__ import annotations

import calendar
import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.simulator import parameters as p
from sandbox.simulator.offline import OfflineBusiness
from sandbox.simulator.outcomes import (
    draw_decline,
    first_attempt_fails,
    retry_success_probability,
    updates_card_after_email,
)
from sandbox.simulator.population import SimCustomer, draw_customer, payday_between
from sandbox.simulator.signals import draw_ticket, monthly_usage
from sandbox.store import Sandbox


def add_months(ts: float, months: int) -> float:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


@dataclass
class SimClock:
    now: float

    def __call__(self) -> float:
        return self.now


@dataclass
class DunningCase:
    invoice_id: str
    customer_id: str
    reason: str
    failed_at: float
    amount: int
    card_updated: bool = False
    attempts: int = 1


@dataclass
class Outcomes:
    """What happened, for the tests and the command's summary (never sent to Dunwell)."""

    renewals: int = 0
    first_failures: int = 0
    recovered: int = 0
    recovery_days: list[float] = field(default_factory=list)
    unrecovered: int = 0
    declines: Counter = field(default_factory=Counter)
    final_actions: Counter = field(default_factory=Counter)
    outages: list[tuple[str, float, float]] = field(default_factory=list)
    card_updates: Counter = field(default_factory=Counter)
    # Every retry: (reason, paid since the failure, local hour, succeeded), to check signal.
    retries: list[tuple[str, bool, int, bool]] = field(default_factory=list)

    @property
    def failure_rate(self) -> float:
        return self.first_failures / self.renewals if self.renewals else 0.0

    @property
    def recovery_rate(self) -> float:
        closed = self.recovered + self.unrecovered
        return self.recovered / closed if closed else 0.0

    @property
    def share_recovered_within_10_days(self) -> float:
        if not self.recovery_days:
            return 0.0
        return sum(1 for d in self.recovery_days if d <= 10) / len(self.recovery_days)


class Simulator:
    def __init__(self, sandbox: Sandbox, *, seed: int, start: float, dunning: str = "custom"):
        if dunning not in ("custom", "smart"):
            raise ValueError("dunning must be 'custom' or 'smart'")
        self.sandbox = sandbox
        self.rng = random.Random(seed)
        self.clock = SimClock(start)
        self.start = start
        sandbox.clock = self.clock
        sandbox.id_token = f"{seed % 65536:04x}"
        self.dunning_mode = dunning
        self.retry_days = p.CUSTOM_RETRY_DAYS if dunning == "custom" else p.SMART_RETRY_DAYS
        self.customers: dict[str, SimCustomer] = {}
        self.cases: dict[str, DunningCase] = {}
        self.outcomes = Outcomes()
        self._queue: list[tuple[float, int, str, tuple]] = []
        self._seq = 0
        self._ticket_seq = 0
        # Customers paying by transfer or cheque, with random numbers of their own.
        self.offline = OfflineBusiness(self, seed=seed)

    # --- scheduling ------------------------------------------------------------------
    def schedule(self, at: float, kind: str, *args) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, args))

    def next_at(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def run_until(self, end: float, *, on_progress=None) -> int:
        """Play everything scheduled up to ``end``; returns how many things happened."""
        happened = 0
        while self._queue and self._queue[0][0] <= end:
            at, _seq, kind, args = heapq.heappop(self._queue)
            with self.sandbox.lock:  # the sandbox's HTTP threads read the same objects
                self.clock.now = max(self.clock.now, at)
                getattr(self, f"_on_{kind}")(*args)
            happened += 1
            if on_progress:
                on_progress(self.clock.now)
        self.clock.now = max(self.clock.now, end)
        return happened

    # --- setting up the business -------------------------------------------------------
    def populate(self, *, customers: int) -> None:
        """The customers the business has at the start; each month then brings its own."""
        self.size = customers
        for _ in range(customers):
            self._add_customer(existing=True)
        self.offline.populate(customers=customers)
        self.schedule(self.start, "month", self.start)

    def _on_month(self, month_start: float) -> None:
        """Signups, product usage, tickets and gateway outages for one month."""
        month_end = add_months(month_start, 1)
        self.schedule(month_end, "month", month_end)
        for _ in range(self._poisson(self.size * p.MONTHLY_SIGNUP_RATE)):
            self.schedule(self.rng.uniform(month_start, month_end), "signup")
        for _ in range(self._poisson(p.OUTAGES_PER_YEAR / 12)):
            gateway = self.rng.choices(list(p.GATEWAY_MIX), weights=list(p.GATEWAY_MIX.values()))[0]
            begins = self.rng.uniform(month_start, month_end)
            ends = begins + self.rng.uniform(*p.OUTAGE_HOURS) * p.HOUR
            self.outcomes.outages.append((gateway, begins, ends))
        self._usage_month(month_start, month_end)

    def _poisson(self, mean: float) -> int:
        # Knuth's method; fine for the small means used here.
        limit, count, product = pow(2.718281828459045, -mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def _add_customer(self, *, existing: bool) -> SimCustomer:
        rng, now = self.rng, self.clock.now
        traits = draw_customer(rng, start=self.start, end=now + 365 * p.DAY)
        plan, annual = traits["plan"], traits["annual"]
        term_months = 12 if annual else 1
        if existing:
            started = now - rng.uniform(30, 900) * p.DAY
            term_start = started
            while add_months(term_start, term_months) <= now:
                term_start = add_months(term_start, term_months)
        else:
            started = term_start = now
        term_end = add_months(term_start, term_months)
        if p.RENEWAL_HOUR_UTC is not None:
            term_end = term_end - term_end % p.DAY + p.RENEWAL_HOUR_UTC * p.HOUR
            term_end += p.DAY if term_end <= now else 0
        n = len(self.customers)
        first, last = traits["first_name"], traits["last_name"]
        customer = self.sandbox.create_customer(
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.{n}@example.com".lower().replace("'", ""),
            country=traits["country"],
            state_code=p.STATE_OF_ZONE.get(traits["time_zone"], ""),
            currency=traits["currency"],
            company=f"{last} {rng.choice(['Labs', 'GmbH', 'Studio', 'Ltd', 'Inc', '& Co'])}",
            created_at=int(started),
        )
        expiry_month, expiry_year = self._card_expiry(now)
        source = self.sandbox.add_card(
            customer_id=customer["id"],
            brand=traits["brand"],
            last4=f"{rng.randint(0, 9999):04d}",
            expiry_month=expiry_month,
            expiry_year=expiry_year,
            funding_type=traits["funding"],
            gateway=traits["gateway"],
        )
        currency = traits["currency"]
        prices = p.ZERO_DECIMAL_PRICES if currency == "JPY" else p.PLANS
        price = prices[plan] * (10 if annual else 1)
        subscription = self.sandbox.create_subscription(
            customer_id=customer["id"],
            plan_id=f"{plan}-{currency}-{'yearly' if annual else 'monthly'}",
            unit_price=price,
            currency=currency,
            period_unit="year" if annual else "month",
            started_at=int(started),
            term_start=int(term_start),
            term_end=int(term_end),
        )
        sim = SimCustomer(
            customer_id=customer["id"],
            subscription_id=subscription["id"],
            payment_source_id=source["id"],
            card_expiry=(expiry_month, expiry_year),
            **{k: v for k, v in traits.items() if k not in ("first_name", "last_name")},
        )
        sim.extra["seats"] = {"starter": 2, "pro": 8, "business": 30}[plan]
        self.customers[sim.customer_id] = sim
        self.schedule(term_end, "renewal", sim.customer_id)
        self._schedule_card_expiry(sim)
        if rng.random() < p.MONTHLY_VOLUNTARY_CHURN * 12:
            self.schedule(now + rng.uniform(30, 400) * p.DAY, "voluntary_cancel", sim.customer_id)
        return sim

    def _card_expiry(self, now: float) -> tuple[int, int]:
        expires = add_months(now, self.rng.randint(1, 48))
        moment = datetime.fromtimestamp(expires, tz=UTC)
        return moment.month, moment.year

    def _schedule_card_expiry(self, sim: SimCustomer) -> None:
        month, year = sim.card_expiry
        end_of_month = datetime(year, month, calendar.monthrange(year, month)[1], 23, 0, tzinfo=UTC)
        expires = end_of_month.timestamp()
        if self.rng.random() < p.ACCOUNT_UPDATER_SHARE[sim.gateway]:
            self.schedule(
                expires - self.rng.uniform(3, 20) * p.DAY, "account_updater", sim.customer_id
            )
        elif self.rng.random() < p.PROACTIVE_CARD_UPDATE * (0.5 + sim.responsiveness):
            self.schedule(
                expires - self.rng.uniform(1, 25) * p.DAY, "customer_card_update", sim.customer_id
            )
        else:
            self.schedule(expires, "card_expired", sim.customer_id)

    # --- handlers ---------------------------------------------------------------------
    def _on_offline(self, what: str, *args) -> None:
        getattr(self.offline, what)(*args)

    def _on_signup(self) -> None:
        self._add_customer(existing=False)

    def _usage_month(self, month_start: float, month_end: float) -> None:
        for sim in self.customers.values():
            if self.sandbox.subscriptions[sim.subscription_id]["status"] == "cancelled":
                continue
            self.sandbox.usage.setdefault(sim.customer_id, []).append(
                monthly_usage(self.rng, sim, month_start=month_start, seats=sim.extra["seats"])
            )
            if self.rng.random() < 0.06:
                topic = (
                    "cancel"
                    if sim.has_churn_intent(month_start) and self.rng.random() < 0.5
                    else "product"
                )
                at = self.rng.uniform(month_start, month_end)
                self.schedule(at, "ticket", sim.customer_id, topic)

    def _on_ticket(self, customer_id: str, topic: str) -> None:
        self._ticket_seq += 1
        self.sandbox.tickets.append(
            draw_ticket(
                self.rng,
                self.customers[customer_id],
                topic=topic,
                ts=self.clock.now,
                ticket_id=f"tkt_{self.sandbox.id_token}{self._ticket_seq:06d}",
            )
        )

    def _on_voluntary_cancel(self, customer_id: str) -> None:
        sim = self.customers[customer_id]
        subscription = self.sandbox.subscriptions[sim.subscription_id]
        if subscription["status"] == "active" and subscription.get("due_invoices_count", 0) == 0:
            subscription["status"] = "non_renewing"
            subscription["cancelled_at"] = subscription["current_term_end"]
            self.sandbox._touch(subscription)
            self.sandbox.emit(
                "subscription_cancellation_scheduled",
                "portal",
                subscription=subscription,
                customer=self.sandbox.customers[customer_id],
            )

    def _card_valid_at(self, sim: SimCustomer, ts: float) -> bool:
        month, year = sim.card_expiry
        moment = datetime.fromtimestamp(ts, tz=UTC)
        return (moment.year, moment.month) <= (year, month)

    def _on_account_updater(self, customer_id: str) -> None:
        self._new_card(customer_id, source="external_service")
        self.outcomes.card_updates["account_updater"] += 1

    def _on_card_expired(self, customer_id: str) -> None:
        sim = self.customers[customer_id]
        if not self._card_valid_at(sim, self.clock.now + p.DAY):
            self.sandbox.expire_card(payment_source_id=sim.payment_source_id)

    def _new_card(self, customer_id: str, *, source: str) -> None:
        sim = self.customers[customer_id]
        month, year = self._card_expiry(self.clock.now + 365 * p.DAY)
        sim.card_expiry = (month, year)
        self.sandbox.update_card(
            payment_source_id=sim.payment_source_id,
            expiry_month=month,
            expiry_year=year,
            last4=f"{self.rng.randint(0, 9999):04d}",
            source=source,
        )
        self._schedule_card_expiry(sim)
        for case in self.cases.values():
            if case.customer_id == customer_id:
                case.card_updated = True
                # Chargebee collects due invoices once a new payment method is added.
                self.schedule(
                    self.clock.now + self.rng.uniform(0.5, 3) * p.HOUR, "retry", case.invoice_id, -1
                )

    def _on_customer_card_update(self, customer_id: str) -> None:
        self._new_card(customer_id, source="hosted_page")
        self.outcomes.card_updates["customer"] += 1

    def _gateway_down(self, gateway: str, ts: float) -> bool:
        return any(
            g == gateway and begins <= ts < ends for g, begins, ends in self.outcomes.outages
        )

    def _decline(self, sim: SimCustomer, reason: str) -> dict:
        code, text, category, macs = p.DECLINE_CODES[reason]
        detail = {"error_category": category, "decline_code": code, "decline_message": text}
        if reason != "gateway_unavailable":
            detail["network_error_code"] = code
        if sim.brand == "mastercard":
            mac = self.rng.choice(macs)
            if mac:
                detail["processor_advice_code"] = mac
        return {"error_code": code, "error_text": text, "error_detail": detail}

    def _on_renewal(self, customer_id: str) -> None:
        sim = self.customers[customer_id]
        subscription = self.sandbox.subscriptions[sim.subscription_id]
        if subscription["status"] == "non_renewing":
            self.sandbox.cancel_subscription(subscription_id=sim.subscription_id)
            return
        if subscription["status"] != "active":
            return
        now = self.clock.now
        term_months = 12 if sim.annual else 1
        next_renewal = add_months(subscription["current_term_end"], term_months)
        self.sandbox.renew_term(subscription_id=sim.subscription_id, term_end=int(next_renewal))
        self.schedule(next_renewal, "renewal", customer_id)
        invoice = self.sandbox.create_invoice(subscription_id=sim.subscription_id)
        self.outcomes.renewals += 1
        if self._gateway_down(sim.gateway, now):
            reason = "gateway_unavailable"
        elif not self._card_valid_at(sim, now):
            reason = "expired_card"
        elif first_attempt_fails(self.rng, sim, ts=now):
            reason = draw_decline(self.rng, sim, ts=now)
        else:
            self.sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
            return
        self.outcomes.first_failures += 1
        self.outcomes.declines[reason] += 1
        sim.failures += 1
        self.sandbox.behaviours[sim.payment_source_id] = [self._decline(sim, reason)]
        self.sandbox.charge(
            invoice_id=invoice["id"],
            source="scheduled_job",
            dunning_retry_after=self.retry_days[0] * p.DAY,
        )
        case = DunningCase(invoice["id"], customer_id, reason, now, invoice["amount_due"])
        self.cases[invoice["id"]] = case
        for index, days in enumerate(self.retry_days):
            self.schedule(now + days * p.DAY, "retry", invoice["id"], index)
        self._after_failed_attempt(sim, case)

    def _after_failed_attempt(self, sim: SimCustomer, case: DunningCase) -> None:
        # Chargebee's dunning email has gone out; some customers act on it.
        if updates_card_after_email(self.rng, sim, reason=case.reason, ts=self.clock.now):
            self.schedule(
                self.clock.now + self.rng.uniform(1, 60) * p.HOUR,
                "customer_card_update",
                sim.customer_id,
            )
        if case.attempts == 1 and self.rng.random() < 0.18:
            self.schedule(
                self.clock.now + self.rng.uniform(1, 48) * p.HOUR,
                "ticket",
                sim.customer_id,
                "payment_failed",
            )

    def _on_retry(self, invoice_id: str, index: int) -> None:
        case = self.cases.get(invoice_id)
        invoice = self.sandbox.invoices[invoice_id]
        if case is None or invoice["status"] not in ("payment_due", "not_paid"):
            return
        sim = self.customers[case.customer_id]
        final = index == len(self.retry_days) - 1
        skip = (
            self.dunning_mode == "smart"
            and case.reason in p.HARD_DECLINES
            and not case.card_updated
            and not final
        )
        if not skip:
            self._attempt(sim, case, index=index, final=final)
        if final and self.sandbox.invoices[invoice_id]["status"] != "paid":
            self._end_of_dunning(sim, case)

    def _attempt(self, sim: SimCustomer, case: DunningCase, *, index: int, final: bool) -> None:
        now = self.clock.now
        down = self._gateway_down(sim.gateway, now)
        chance = retry_success_probability(
            sim,
            reason=case.reason,
            failed_at=case.failed_at,
            attempt_at=now,
            amount=case.amount,
            card_updated=case.card_updated,
            gateway_down=down,
            retries_so_far=case.attempts - 1,
        )
        succeeds = self.rng.random() < chance
        paid = payday_between(sim, case.failed_at, now)
        self.outcomes.retries.append((case.reason, paid, sim.local(now).hour, succeeds))
        reason = "gateway_unavailable" if down else case.reason
        self.sandbox.behaviours[sim.payment_source_id] = [
            "succeed" if succeeds else self._decline(sim, reason)
        ]
        next_days = None
        if not final and index >= 0:
            next_days = self.retry_days[index + 1] - self.retry_days[index]
        self.sandbox.charge(
            invoice_id=case.invoice_id,
            source="scheduled_job",
            dunning_retry_after=int(next_days * p.DAY) if next_days else None,
        )
        case.attempts += 1
        if succeeds:
            self.outcomes.recovered += 1
            self.outcomes.recovery_days.append((now - case.failed_at) / p.DAY)
            del self.cases[case.invoice_id]
        elif not final:
            self._after_failed_attempt(sim, case)

    def _end_of_dunning(self, sim: SimCustomer, case: DunningCase) -> None:
        self.outcomes.unrecovered += 1
        self.cases.pop(case.invoice_id, None)
        self.sandbox.exhaust_dunning(invoice_id=case.invoice_id)
        plan = "annual" if sim.annual else sim.plan
        subscription_action, invoice_action = p.FINAL_ACTIONS[plan]
        if subscription_action == "cancel":
            self.sandbox.cancel_subscription(subscription_id=sim.subscription_id, reason="not_paid")
        if invoice_action != "not_paid":
            self.sandbox.close_invoice(invoice_id=case.invoice_id, action=invoice_action)
        self.outcomes.final_actions[f"{subscription_action}+{invoice_action}"] += 1
