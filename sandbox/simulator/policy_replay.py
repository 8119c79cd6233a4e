"""Replaying a held-out stretch of simulated history under three dunning policies.

The simulator plays a seeded business; the retry model is trained on what happened before
the hold-out only. Then every first decline in the hold-out is replayed three times against
the simulator's hidden truth (``outcomes.retry_success_probability``): Chargebee's custom
schedule (+1, +3, +5 days), Chargebee's smart schedule (12 retries), and Dunwell's real
policy (``plan_decide``) deciding again after every event. Each invoice has its own random
numbers, indexed by attempt and by email, so the three policies meet the same luck.
Every attempt is checked against the network rules.
"""

from __future__ import annotations

import bisect
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.model_training import scores
from dunning.decisions.learning.recovery_data import failure_features_of
from dunning.decisions.learning.retry_data import AttemptHistory, attempt_examples
from dunning.decisions.learning.retry_model import (
    MIN_EXAMPLES,
    RetryModelScorer,
    RetryRows,
    retry_model_fit,
)
from dunning.decisions.learning.retry_prior import FUNDS_CODES
from dunning.decisions.plan import GuardrailSnapshot, Scorers
from dunning.decisions.policy import plan_decide
from dunning.decisions.rules.network_rules import Decline, RuleResult, Verdict, network_rules
from dunning.decisions.timing.paydays import payday_shares
from dunning.decisions.timing.retry_timing import chargebee_default_next
from dunning.decisions.timing.time_zones import customer_time_zone
from dunning.models import ActionKind, AutomationMode
from sandbox.simulator import parameters as p
from sandbox.simulator.outcomes import retry_success_probability, updates_card_after_email
from sandbox.simulator.population import SimCustomer

REASON_OF_CODE = {code: reason for reason, (code, *_rest) in p.DECLINE_CODES.items()}
CONTACTS = {ActionKind.MESSAGE, ActionKind.PAYMENT_METHOD_LINK, ActionKind.AUTHENTICATION_LINK}
DRAWS = 64  # random numbers per invoice and stream; no policy gets near this many attempts
# Illustrative fixed rates to add up revenue across currencies (minor units -> US cents).
TO_USD_CENTS = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "AUD": 0.66, "JPY": 0.67}


def _moment(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


@dataclass(frozen=True)
class FirstDecline:
    invoice_id: str
    customer: SimCustomer  # with ``failures`` as they stood at this decline
    reason: str
    failed_at: float
    amount: int
    currency: str
    advice_code: str
    features: dict  # the recovery model's features of the decline (as Dunwell knew them)
    lifetime_value: int
    tenure_days: int
    # (declined, paid) of the customer's earlier lack-of-funds invoices, as the mirror has them
    recoveries: tuple[tuple[float, float], ...] = ()


@dataclass
class Tally:
    invoices: int = 0
    recovered: int = 0
    revenue_due: float = 0.0
    revenue_recovered: float = 0.0
    retries: int = 0
    violations: int = 0
    emails: int = 0
    days_to_recovery: list[float] = field(default_factory=list)
    violation_examples: list[str] = field(default_factory=list)
    violations_by_brand: Counter = field(default_factory=Counter)

    @property
    def recovery_rate(self) -> float:
        return self.recovered / self.invoices if self.invoices else 0.0

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_recovery) if self.days_to_recovery else None


class _Draw:
    """``updates_card_after_email`` tosses its coin with ``rng.random()``: hand it ours."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


class InvoiceRun:
    """One invoice under one policy: its attempts, its emails, and what the rules say."""

    def __init__(self, case: FirstDecline, *, seed: int, outages: list, tally: Tally):
        rng = random.Random(f"{seed}:{case.invoice_id}")
        self.u_attempt = [rng.random() for _ in range(DRAWS)]
        self.u_email = [rng.random() for _ in range(DRAWS)]
        self.email_delay = [rng.uniform(1, 60) * p.HOUR for _ in range(DRAWS)]
        self.collect_delay = [rng.uniform(0.5, 3) * p.HOUR for _ in range(DRAWS)]
        self.u_advice = [rng.random() for _ in range(DRAWS)]
        self.case, self.outages, self.tally = case, outages, tally
        first = Decline(
            case.customer.brand,
            p.DECLINE_CODES[case.reason][0],
            case.advice_code,
            p.DECLINE_CODES[case.reason][2],
        )
        self.failures: list[tuple[float, Decline]] = [(case.failed_at, first)]
        self.card_updated_at: float | None = None
        self.update_due: float | None = None  # when an email made the customer add a card
        self.emails = 0
        self.paid = False
        tally.invoices += 1
        tally.revenue_due += self.value

    @property
    def value(self) -> float:
        return self.case.amount * TO_USD_CENTS.get(self.case.currency, 1.0)

    @property
    def card_changed(self) -> bool:
        return self.card_updated_at is not None and self.card_updated_at > self.failures[-1][0]

    def gateway_down(self, ts: float) -> bool:
        gateway = self.case.customer.gateway
        return any(g == gateway and begins <= ts < ends for g, begins, ends in self.outages)

    def email(self, ts: float) -> None:
        """A dunning email or a link: some customers answer it with a new card."""
        j = self.emails
        self.emails += 1
        self.tally.emails += 1
        if self.card_updated_at is not None or self.update_due is not None:
            return
        if updates_card_after_email(
            _Draw(self.u_email[j]), self.case.customer, reason=self.case.reason, ts=ts
        ):
            self.update_due = ts + self.email_delay[j]

    def card_update(self) -> float:
        ts, self.update_due = self.update_due, None
        self.card_updated_at = ts
        return ts

    def rules(self) -> RuleResult:
        """What the network rules say about retrying after the invoice's last decline."""
        last_at, last = self.failures[-1]
        decline = Decline(brand=last.brand) if self.card_changed else last
        history = [t for t, _ in self.failures[:-1] if t > last_at - 30 * p.DAY]
        return network_rules(
            decline=decline, failed_at=_moment(last_at), attempts=[_moment(t) for t in history]
        )

    def attempt(self, ts: float) -> bool:
        """Charge at ``ts``; checks the network rules first, then tosses the invoice's coin."""
        k = len(self.failures) - 1
        rules = self.rules()
        if rules.verdict is not Verdict.RETRY or (rules.earliest and _moment(ts) < rules.earliest):
            self.tally.violations += 1
            self.tally.violations_by_brand[self.case.customer.brand] += 1
            if len(self.tally.violation_examples) < 5:
                self.tally.violation_examples.append(f"{self.case.invoice_id}: {rules.reason}")
        self.tally.retries += 1
        c = self.case
        down = self.gateway_down(ts)
        chance = retry_success_probability(
            c.customer,
            reason=c.reason,
            failed_at=c.failed_at,
            attempt_at=ts,
            amount=c.amount,
            card_updated=self.card_updated_at is not None,
            gateway_down=down,
            retries_so_far=k,
        )
        if self.u_attempt[k] < chance:
            self.paid = True
            self.tally.recovered += 1
            self.tally.revenue_recovered += self.value
            self.tally.days_to_recovery.append((ts - c.failed_at) / p.DAY)
            return True
        reason = "gateway_unavailable" if down else c.reason
        code, _text, category, macs = p.DECLINE_CODES[reason]
        advice = ""
        if c.customer.brand == "mastercard":
            advice = macs[int(self.u_advice[k] * len(macs))] or ""
        self.failures.append((ts, Decline(c.customer.brand, code, advice, category)))
        return False


def play_fixed(run: InvoiceRun, days: tuple[int, ...], *, skip_hard: bool) -> None:
    """Chargebee's schedule, as the simulator's engine plays it (emails after each decline)."""
    c = run.case
    run.email(c.failed_at)
    for index, day in enumerate(days):
        at = c.failed_at + day * p.DAY
        while run.update_due is not None and run.update_due < at:
            # Chargebee collects due invoices once a new payment method is added (when that
            # falls after the next scheduled retry, the retry charges the new card instead).
            collect = run.card_update() + run.collect_delay[run.emails]
            if collect < at and run.attempt(collect):
                return
        final = index == len(days) - 1
        if skip_hard and c.reason in p.HARD_DECLINES and run.card_updated_at is None and not final:
            continue
        if run.attempt(at):
            return
        if not final:
            run.email(at)


def decision_context(
    run: InvoiceRun, *, at: float, retries: int, in_charge: bool, contacts: list[float]
) -> DecisionContext:
    c = run.case
    first_at, last_at = run.failures[0][0], run.failures[-1][0]
    decline = run.failures[-1][1]
    down = run.gateway_down(at) and decline.error_category == "gateway_error"
    # What the billing address tells Dunwell (country and, where it spans zones, the state).
    zone = (
        customer_time_zone(
            country=c.customer.country, state_code=p.STATE_OF_ZONE.get(c.customer.time_zone, "")
        ).zone
        or "UTC"
    )
    return DecisionContext(
        invoice_id=c.invoice_id,
        customer_id=c.customer.customer_id,
        at=_moment(at),
        trigger="payment_failed",
        currency=c.currency,
        amount_due=c.amount,
        invoice_open=True,
        auto_collection=True,
        decline=decline,
        first_failed_at=_moment(first_at),
        last_failed_at=_moment(last_at),
        invoice_failures=len(run.failures),
        card_attempts=tuple(_moment(t) for t, _ in run.failures[:-1] if t > last_at - 30 * p.DAY),
        gateway=c.customer.gateway,
        gateway_down=down,
        gateway_reason="the gateway is failing most charges" if down else "",
        card_changed_since_failure=run.card_changed,
        country=c.customer.country,
        time_zone=zone,
        lifetime_value=c.lifetime_value,
        tenure_days=c.tenure_days + int((at - c.failed_at) // p.DAY),
        other_unpaid_invoices=0,
        contacts_last_7d=sum(1 for t in contacts if at - 7 * p.DAY < t <= at),
        dunwell_retries=retries,
        dunwell_in_charge=in_charge,
        recovery_features=c.features,
        payday_shares=payday_shares(recoveries=c.recoveries, time_zone=zone),
    )


def play_dunwell(
    run: InvoiceRun, *, guardrails: GuardrailSnapshot, scorers: Scorers, card_updater=None
) -> int:
    """Dunwell's policy, deciding after the decline and again after every event.

    Actions that need a person's approval are taken as approved (the replay measures the
    policy, not the inbox); a new decision replaces what the last one left pending.
    Returns how many decisions it took."""
    c = run.case
    run.email(c.failed_at)  # Chargebee's own email went out with the decline
    window_end = c.failed_at + guardrails.dunning_window_days * p.DAY
    now, retries, in_charge, contacts, decisions = c.failed_at, 0, False, [], 0
    while True:
        context = decision_context(
            run, at=now, retries=retries, in_charge=in_charge, contacts=contacts
        )
        if card_updater is not None:  # (run, at, context) -> context, as enrichment asks it
            context = card_updater(run, now, context)
        plan = plan_decide(context=context, guardrails=guardrails, scorers=scorers)
        decisions += 1
        next_try, by_chargebee, reminders = None, False, []
        for action in plan.actions:
            if action.kind == ActionKind.CANCEL_SUBSCRIPTION:
                return decisions
            if action.kind == ActionKind.TAKE_OVER:
                in_charge = True
            elif action.kind in CONTACTS:
                reminders.append(action.scheduled_for.timestamp())
            elif action.kind == ActionKind.RETRY:
                next_try = action.scheduled_for.timestamp()
            elif action.kind == ActionKind.KEEP_CHARGEBEE_SCHEDULE:
                following = chargebee_default_next(context=context)
                next_try, by_chargebee = (following.timestamp() if following else None), True
        reminders.sort()
        while True:  # emails go out until the next attempt or card update
            upcoming = min(t for t in (next_try, run.update_due, window_end) if t is not None)
            if not reminders or reminders[0] > upcoming:
                break
            contacts.append(reminders[0])
            run.email(reminders.pop(0))
        if run.update_due is not None and (next_try is None or run.update_due < next_try):
            if run.update_due > window_end:
                return decisions
            now = run.card_update()
            continue
        if next_try is None or next_try > window_end:
            return decisions
        retries += 0 if by_chargebee else 1
        if run.attempt(next_try):
            return decisions
        now = next_try
        if by_chargebee and not in_charge:
            run.email(now)


# --- the world ------------------------------------------------------------------------------
def _text(values) -> np.ndarray:
    return np.array([v or "" for v in values], dtype=object)


def attempt_history_from_sandbox(sandbox, *, before: float) -> AttemptHistory:
    """The simulated Chargebee's payment attempts before ``before``, as the mirror holds them."""
    txns = [
        t
        for t in sandbox.transactions.values()
        if t["type"] == "payment" and t["date"] < before and t.get("linked_invoices")
    ]
    declined = {t["linked_invoices"][0]["invoice_id"] for t in txns if t["status"] == "failure"}
    txns = sorted(
        (t for t in txns if t["linked_invoices"][0]["invoice_id"] in declined),
        key=lambda t: (t["linked_invoices"][0]["invoice_id"], t["date"], t["id"]),
    )
    details = [t.get("error_detail") or {} for t in txns]
    cards = [sandbox.payment_sources[t["payment_source_id"]]["card"] for t in txns]
    customers = [sandbox.customers[t["customer_id"]] for t in txns]
    return AttemptHistory(
        invoice=_text(t["linked_invoices"][0]["invoice_id"] for t in txns),
        customer=_text(t["customer_id"] for t in txns),
        at=np.array([t["date"] for t in txns], dtype=np.int64),
        succeeded=np.array([t["status"] == "success" for t in txns], dtype=bool),
        decline_code=_text(
            d.get("decline_code") or t.get("error_code") for d, t in zip(details, txns, strict=True)
        ),
        error_category=_text(d.get("error_category") for d in details),
        advice_code=_text(d.get("processor_advice_code") for d in details),
        gateway=_text(t["gateway"] for t in txns),
        card_last4=_text(t["masked_card_number"][-4:] for t in txns),
        amount=np.array([t["amount"] for t in txns], dtype=np.int64),
        brand=_text(card["brand"] for card in cards),
        funding=_text(card["funding_type"] for card in cards),
        country=_text(c["billing_address"]["country"] for c in customers),
        customer_since=np.array([c["created_at"] for c in customers], dtype=float),
    )


def first_declines(simulator, *, since: float, until: float) -> list[FirstDecline]:
    """Every invoice first declined in [since, until), with the customer as they were then."""
    sandbox = simulator.sandbox
    payments = sorted(
        (t for t in sandbox.transactions.values() if t["type"] == "payment"),
        key=lambda t: (t["date"], t["id"]),
    )
    paid_by: dict[str, list[tuple[int, int]]] = defaultdict(list)
    seen, first_failures, failures_of = set(), [], defaultdict(list)
    declined_for_funds: dict[str, float] = {}
    recoveries_of: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in payments:
        invoice = t["linked_invoices"][0]["invoice_id"] if t.get("linked_invoices") else ""
        if t["status"] == "success":
            paid_by[t["customer_id"]].append((t["date"], t["amount"]))
            if invoice in declined_for_funds:
                recoveries_of[t["customer_id"]].append(
                    (declined_for_funds.pop(invoice), float(t["date"]))
                )
            continue
        if invoice in seen:
            continue
        seen.add(invoice)
        detail = t.get("error_detail") or {}
        if (detail.get("decline_code") or t["error_code"]) in FUNDS_CODES:
            declined_for_funds[invoice] = float(t["date"])
        failures_of[t["customer_id"]].append(t["date"])
        if since <= t["date"] < until:
            first_failures.append(t)
    cases = []
    for t in first_failures:
        sim = simulator.customers[t["customer_id"]]
        detail = t.get("error_detail") or {}
        reason = REASON_OF_CODE[detail.get("decline_code") or t["error_code"]]
        customer = sandbox.customers[t["customer_id"]]
        card = sandbox.payment_sources[t["payment_source_id"]]["card"]
        history = paid_by[t["customer_id"]]
        before = bisect.bisect_left(history, (t["date"], -1))
        failed_at = _moment(t["date"])
        features = failure_features_of(
            at=failed_at,
            decline_code=detail.get("decline_code") or t["error_code"],
            error_category=detail.get("error_category", ""),
            advice_code=detail.get("processor_advice_code", ""),
            gateway=t["gateway"],
            currency=t["currency_code"],
            amount=t["amount"],
            brand=card["brand"],
            funding=card["funding_type"],
            card_expiry=None,
            country=sim.country,
            customer_since=_moment(customer["created_at"]),
            period_unit="year" if sim.annual else "month",
            prior_failures=sum(
                1 for f in failures_of[t["customer_id"]] if t["date"] - 365 * p.DAY <= f < t["date"]
            ),
        )
        cases.append(
            FirstDecline(
                invoice_id=t["linked_invoices"][0]["invoice_id"],
                customer=replace(sim, failures=failures_of[t["customer_id"]].index(t["date"]) + 1),
                reason=reason,
                failed_at=float(t["date"]),
                amount=t["amount"],
                currency=t["currency_code"],
                advice_code=detail.get("processor_advice_code", ""),
                features=features,
                lifetime_value=sum(a for _, a in history[:before]),
                tenure_days=max(0, (t["date"] - customer["created_at"]) // p.DAY),
                recoveries=tuple(r for r in recoveries_of[t["customer_id"]] if r[1] < t["date"]),
            )
        )
    return cases


def train_retry_scorer(simulator, *, before: float) -> tuple[RetryModelScorer | None, dict]:
    """The retry model trained on the history before ``before``, shrunk toward the prior as
    production shrinks it (None: too few retries to train on, a cold start)."""
    examples = attempt_examples(attempt_history_from_sandbox(simulator.sandbox, before=before))
    facts = {"examples": len(examples)}
    labels = examples.succeeded.astype(int)
    if len(examples) < MIN_EXAMPLES or len(set(labels.tolist())) < 2:
        return None, facts
    cut = int(len(examples) * 0.8)
    rows = RetryRows(examples.categories, examples.numbers)
    check = retry_model_fit(rows[:cut], labels[:cut])
    facts["holdout"] = scores(labels[cut:], check.predict_proba(rows[cut:])[:, 1])
    model = retry_model_fit(rows, labels)
    facts["weight"] = model.learnt
    return RetryModelScorer(model=model, version="replay"), facts


def guardrails_for_replay(*, exploration_share: float = 0.0) -> GuardrailSnapshot:
    """Auto mode, without exploration unless asked for: the evaluation measures the policy's
    own choices (exploring costs a little recovery now for what the log teaches later)."""
    return GuardrailSnapshot(default_mode=AutomationMode.AUTO, exploration_share=exploration_share)
