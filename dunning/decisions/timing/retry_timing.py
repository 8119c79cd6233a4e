"""When to retry: evaluate candidate slots across the rest of the dunning window.

A slot's worth is the retry model's probability that a charge at that moment succeeds,
lightly discounted for waiting (money later is worth a little less, and a customer in
dunning for longer is more likely to leave). The network rules set the earliest slot; the
guardrails set the end of the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from dunning.decisions.context import DecisionContext
from dunning.decisions.timing.retry_plan import RetryPlan, retry_plan_search

SLOT_STEP = timedelta(hours=3)
# Money later is worth a little less, and a customer in dunning longer may leave; a
# steeper discount (0.95 was tried) retries before payday and recovers a fifth less.
DAILY_DISCOUNT = 0.99
# Chargebee's default dunning (seed 004: three retries); the interval is site configuration.
CHARGEBEE_DEFAULT_RETRY_DAYS = (1, 3, 5)


@dataclass(frozen=True)
class Slot:
    at: datetime
    probability: float
    because: str  # what makes this slot good, in words: "payday +1, 09:00 customer time"


class RetryScorer(Protocol):
    version_label: str

    def slot_probabilities(self, *, context: DecisionContext, slots: list[datetime]) -> list[float]:
        """P(a retry at each slot succeeds), using only what ``context`` knows."""

    def plan_probabilities(
        self, *, context: DecisionContext, slots: list[datetime], budget: int
    ) -> np.ndarray:
        """``[k, j]``: P(the retry after ``k`` more declines succeeds at slot ``j``)."""

    def slot_reason(self, *, context: DecisionContext, slot: datetime) -> str:
        """What makes this slot good, in a few words."""


def candidate_slots(*, earliest: datetime, window_end: datetime) -> list[datetime]:
    """Every ``SLOT_STEP`` from ``earliest`` (rounded up to the hour) to ``window_end``."""
    start = earliest
    if start.minute or start.second or start.microsecond:
        start = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    slots = []
    at = start
    while at <= window_end:
        slots.append(at)
        at += SLOT_STEP
    return slots


@dataclass(frozen=True)
class SlotSearch:
    slot: Slot | None  # the next retry of the best plan (None: no slot is worth one)
    top: list[Slot]  # the best few, for the explanation
    plan: RetryPlan | None
    options: list[tuple[datetime, float]]  # every candidate slot and its chance


def planned_slot(
    *,
    context: DecisionContext,
    earliest: datetime,
    window_end: datetime,
    scorer: RetryScorer,
    budget: int,
    spacing: timedelta,
    floor: float,
) -> SlotSearch:
    """The next retry of the plan that recovers the most with ``budget`` retries left.

    Each further retry is scored as the one after a declined retry (the scorer sees one
    more failure), so the plan spaces retries where they are worth most together."""
    slots = candidate_slots(earliest=earliest, window_end=window_end)
    if not slots:
        return SlotSearch(None, [], None, [])
    chances = _plan_chances(scorer=scorer, context=context, slots=slots, budget=budget)
    days = np.array([(s - context.at).total_seconds() / 86400 for s in slots])
    worth = DAILY_DISCOUNT ** np.maximum(days, 0)
    gap = max(int(np.ceil(spacing / SLOT_STEP)), 1)
    plan = retry_plan_search(chances=chances, worth=worth, spacing=gap, floor=floor)
    order = np.argsort(-chances[0] * worth, kind="stable")[:4].tolist()
    picks = ([plan.first] if plan else []) + [i for i in order if not plan or i != plan.first]
    top = [
        Slot(slots[i], float(chances[0, i]), scorer.slot_reason(context=context, slot=slots[i]))
        for i in picks[:5]
    ]
    options = list(zip(slots, chances[0].tolist(), strict=True))
    return SlotSearch((top[0] if plan else None), top, plan, options)


def _plan_chances(
    *, scorer: RetryScorer, context: DecisionContext, slots: list[datetime], budget: int
) -> np.ndarray:
    if hasattr(scorer, "plan_probabilities"):
        return np.asarray(scorer.plan_probabilities(context=context, slots=slots, budget=budget))
    # A scorer that only knows single retries: ask it once per further decline.
    return np.array(
        [
            scorer.slot_probabilities(
                context=replace(context, invoice_failures=context.invoice_failures + k),
                slots=slots,
            )
            for k in range(budget)
        ]
    )


def chargebee_default_next(*, context: DecisionContext) -> datetime | None:
    """When Chargebee's default three-retry schedule would try next, or None if done."""
    if context.first_failed_at is None:
        return None
    for days in CHARGEBEE_DEFAULT_RETRY_DAYS:
        at = context.first_failed_at + timedelta(days=days)
        if at > context.at:
            return at
    return None
