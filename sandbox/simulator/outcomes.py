"""The hidden truth: whether a given charge attempt succeeds.

The probability depends on the decline reason, the time since the failure, the customer's
payday and local time of day, their history, the amount, and traits Dunwell never sees;
then a seeded coin is tossed. That leaves real signal for a model, and real noise.
"""

from __future__ import annotations

import random

from sandbox.simulator import parameters as p
from sandbox.simulator.population import SimCustomer, payday_between


def first_attempt_fails(rng: random.Random, customer: SimCustomer, *, ts: float) -> bool:
    base = p.FIRST_ATTEMPT_FAILURE_BY_FUNDING[customer.funding]
    factor = 0.35 + 1.6 * customer.financial_stress
    if customer.has_churn_intent(ts):
        factor *= 1.4
    return rng.random() < min(base * factor, 0.9)


def draw_decline(rng: random.Random, customer: SimCustomer, *, ts: float) -> str:
    weights = dict(p.DECLINE_MIX)
    weights["insufficient_funds"] *= 0.6 + 1.5 * customer.financial_stress
    if customer.has_churn_intent(ts):
        weights["card_cancelled_by_holder"] *= 6
    if customer.country not in {"GB", "DE", "FR", "NL", "ES", "SE"}:
        weights["authentication_required"] *= 0.2  # SCA is a European rule [C21]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def local_time_factor(customer: SimCustomer, ts: float) -> float:
    hour = customer.local(ts).hour
    begins, ends, factor = p.DEBIT_OVERNIGHT
    if customer.funding == "debit" and begins <= hour < ends:
        return factor
    for begins, ends, factor in p.TIME_OF_DAY_FACTORS:
        if begins <= hour < ends:
            return factor
    return 1.0


def retry_success_probability(
    customer: SimCustomer,
    *,
    reason: str,
    failed_at: float,
    attempt_at: float,
    amount: int,
    card_updated: bool,
    gateway_down: bool,
    retries_so_far: int,
) -> float:
    if gateway_down:
        return 0.0
    if card_updated:
        return p.SUCCESS_AFTER_NEW_CARD * (0.5 if customer.has_churn_intent(attempt_at) else 1.0)
    if reason in p.HARD_DECLINES:
        return 0.0
    hours = (attempt_at - failed_at) / p.HOUR
    probability = p.RETRY_BASE_SUCCESS[reason]
    if reason == "insufficient_funds":
        if payday_between(customer, failed_at, attempt_at):
            probability *= p.PAYDAY_BOOST
        probability *= 1.0 - 0.7 * customer.financial_stress
        probability *= 0.8 if amount > 10_000 else 1.0
    elif reason == "do_not_honor":
        probability *= max(0.35, 1.0 - hours / (24 * 14))
    elif reason in ("issuer_unavailable", "processing_error", "gateway_unavailable") and hours < 2:
        probability *= 0.4
    probability *= local_time_factor(customer, attempt_at)
    probability *= 0.88**customer.failures
    # Each declined retry says something: issuers that keep declining keep declining.
    probability *= p.RETRY_FATIGUE**retries_so_far
    if customer.has_churn_intent(attempt_at):
        probability *= 0.3
    return min(probability, 0.97)


def updates_card_after_email(
    rng: random.Random, customer: SimCustomer, *, reason: str, ts: float
) -> bool:
    kind = "hard" if reason in p.HARD_DECLINES or reason == "authentication_required" else "soft"
    chance = p.CARD_UPDATE_AFTER_EMAIL[kind] * (0.5 + customer.responsiveness)
    if customer.has_churn_intent(ts):
        chance *= 0.15
    return rng.random() < chance
