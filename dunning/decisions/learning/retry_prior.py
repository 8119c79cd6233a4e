"""What is known about when a declined card recovers, before a site's own data says more.

A transparent prior: every factor is a row of a table with the evidence behind it (tags
of ``research/peers.md`` §4.5 and §8, kept here, out of the sentences people read). It
scores the same features the retry model reads (``retry_data.FEATURES``), so it scores
slots for a decision, stands in for a model on a cold start, is blended with a model where
the site's history is thin (``retry_model.RetryModel.learnt``), and is the baseline a new
model must beat on the hold-out.

- Funds arrive on common paydays in the customer's local time: Fridays (weekly or every
  other week), the 1st, the 15th, the 25th and the last business day. A lack-of-funds
  decline is far more likely to clear once one has passed [K2][T7][R11].
- Local morning beats the night [T4][T5] (weak evidence, so a small factor).
- Temporary declines (issuer unavailable, processing errors) clear within hours, but not
  in the first minutes; other soft declines grow stale: 90% of recoveries come within 10
  days [R7].
- Each further decline lowers the next retry's chance (issuers that keep declining keep
  declining) [R7].
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.slot_features import plan_rows, slot_reason_text, slot_rows

PRIOR_VERSION_LABEL = "prior v1"

FUNDS_CODES = frozenset({"51", "insufficient_funds", "61", "65_limit"})
TEMPORARY_CODES = frozenset(
    {"91", "96", "19", "processing_error", "gateway_error", "gateway_timeout", "issuer_unavailable"}
)
TEMPORARY_CATEGORIES = frozenset({"processing_error", "gateway_error"})

# (chance of one retry before any payday or time-of-day effect, the evidence)
BASE_CHANCE = {
    "funds": (0.12, "lack of funds: about half of declines, recovering once pay lands [T7]"),
    "temporary": (0.55, "a temporary hold clears within hours [R11]"),
    "generic": (0.16, "generic soft decline [R11]"),
}
# Which paydays are common: the share of customers paid on each (a pooled guess across
# countries; the site's own data refines it through the model).
PAYDAY_SHARES = {
    "friday": 0.35,  # weekly or every other Friday
    "first": 0.20,
    "fifteenth": 0.12,
    "last_business_day": 0.25,
    "twenty_fifth": 0.08,
}
PAYDAY_ITSELF = 0.5
PAYDAY_LIFT = {"funds": 2.6, "generic": 1.25, "temporary": 1.0}
# (from local hour, to local hour, factor)
LOCAL_HOURS = ((6, 11, 1.15), (0, 5, 0.8))
STALE_AFTER_DAYS = 14.0
STALE_FLOOR = 0.4
TEMPORARY_EARLY_HOURS = 2.0
TEMPORARY_EARLY_FACTOR = 0.4
FATIGUE = 0.8
MAX_CHANCE = 0.95


def _family(codes: np.ndarray, categories: np.ndarray) -> np.ndarray:
    codes = codes.astype(str)
    categories = categories.astype(str)
    funds = np.isin(codes, list(FUNDS_CODES))
    temporary = np.isin(codes, list(TEMPORARY_CODES)) | np.isin(
        categories, list(TEMPORARY_CATEGORIES)
    )
    return np.where(funds, "funds", np.where(temporary, "temporary", "generic"))


def prior_probabilities(
    *, categories: dict, numbers: dict, shares: dict[str, float] | None = None
) -> np.ndarray:
    """P(a retry succeeds) for rows described as the retry model's features.

    ``shares``: this customer's payday shares (``paydays.payday_shares``) instead of the
    pooled ones."""
    shares = shares or PAYDAY_SHARES
    family = _family(categories["decline_code"], categories["error_category"])
    n = len(family)
    base = np.array([BASE_CHANCE[f][0] for f in family.tolist()])
    fridays = np.asarray(numbers["fridays_crossed"], dtype=float)
    weekday = np.asarray(numbers["local_weekday"], dtype=float)
    day = np.asarray(numbers["day_of_month"], dtype=float)
    # One Friday crossed pays the weekly half of Friday earners and half of the fortnightly.
    friday_paid = np.where(fridays >= 2, 1.0, np.where(fridays >= 1, 0.7, 0.0))
    # On the payday itself the money may not have landed yet (banks settle during the day
    # or the next): the mark counts half until the day after.
    friday_paid = np.where(
        (fridays == 1) & (weekday == 4), friday_paid * PAYDAY_ITSELF, friday_paid
    )

    def mark(name: str, on: np.ndarray) -> np.ndarray:
        crossed = np.asarray(numbers[name], dtype=float)
        return np.where(on, crossed * PAYDAY_ITSELF, crossed)

    paid = (
        shares["friday"] * friday_paid
        + shares["first"] * mark("crossed_first", day == 1)
        + shares["fifteenth"] * mark("crossed_15th", day == 15)
        + shares["last_business_day"]
        * mark("crossed_last_business_day", (day >= 26) & (weekday < 5))
        + shares["twenty_fifth"] * mark("crossed_25th", day == 25)
    )
    lift = np.array([PAYDAY_LIFT[f] for f in family.tolist()])
    probability = base * (1.0 + (lift - 1.0) * np.minimum(paid, 1.0))
    hour = np.asarray(numbers["local_hour"], dtype=float)
    hour_factor = np.ones(n)
    for begins, ends, factor in reversed(LOCAL_HOURS):
        hour_factor = np.where((hour >= begins) & (hour < ends), factor, hour_factor)
    probability *= hour_factor
    hours = np.asarray(numbers["hours_since_failure"], dtype=float)
    stale = np.maximum(STALE_FLOOR, 1.0 - hours / (24 * STALE_AFTER_DAYS))
    probability *= np.where(family == "generic", stale, 1.0)
    early = (family == "temporary") & (hours < TEMPORARY_EARLY_HOURS)
    probability *= np.where(early, TEMPORARY_EARLY_FACTOR, 1.0)
    attempts = np.asarray(numbers["attempts_so_far"], dtype=float)
    probability *= FATIGUE ** np.maximum(attempts - 1, 0)
    changed = np.asarray(numbers["card_changed"], dtype=float) > 0
    return np.minimum(np.where(changed, 0.85, probability), MAX_CHANCE)


def customer_shares(context: DecisionContext) -> dict[str, float] | None:
    return dict(context.payday_shares) or None


class PriorRetryScorer:
    """``RetryScorer`` on the prior alone: what Dunwell knows with no model good enough."""

    version_label = PRIOR_VERSION_LABEL

    def slot_probabilities(self, *, context: DecisionContext, slots: list[datetime]) -> list[float]:
        if not slots:
            return []
        rows, _ = slot_rows(context=context, slots=slots)
        return prior_probabilities(
            categories=rows.categories, numbers=rows.numbers, shares=customer_shares(context)
        ).tolist()

    def plan_probabilities(
        self, *, context: DecisionContext, slots: list[datetime], budget: int
    ) -> np.ndarray:
        rows = plan_rows(context=context, slots=slots, budget=budget)
        chances = prior_probabilities(
            categories=rows.categories, numbers=rows.numbers, shares=customer_shares(context)
        )
        return chances.reshape(budget, len(slots))

    def slot_reason(self, *, context: DecisionContext, slot: datetime) -> str:
        return slot_reason_text(context=context, slot=slot)


PRIOR_STRENGTH = 3000


def blend_weight(examples: int) -> float:
    return examples / (examples + PRIOR_STRENGTH) if examples > 0 else 0.0
