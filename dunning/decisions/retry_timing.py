"""When to retry: evaluate candidate slots across the rest of the dunning window.

A slot's worth is the retry model's probability that a charge at that moment succeeds,
lightly discounted for waiting (money later is worth a little less, and a customer in
dunning for longer is more likely to leave). The network rules set the earliest slot; the
guardrails set the end of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from dunning.decisions.context import DecisionContext

SLOT_STEP = timedelta(hours=3)
DAILY_DISCOUNT = 0.95
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


def best_slot(
    *,
    context: DecisionContext,
    earliest: datetime,
    window_end: datetime,
    scorer: RetryScorer,
) -> tuple[Slot | None, list[Slot]]:
    """The best slot and the runners-up (for the explanation), or None if none is left."""
    slots = candidate_slots(earliest=earliest, window_end=window_end)
    if not slots:
        return None, []
    probabilities = scorer.slot_probabilities(context=context, slots=slots)
    ranked = sorted(
        zip(slots, probabilities, strict=True),
        key=lambda pair: pair[1] * DAILY_DISCOUNT ** ((pair[0] - earliest).total_seconds() / 86400),
        reverse=True,
    )
    top = [Slot(at, float(p), scorer.slot_reason(context=context, slot=at)) for at, p in ranked[:5]]
    return top[0], top


def chargebee_default_next(*, context: DecisionContext) -> datetime | None:
    """When Chargebee's default three-retry schedule would try next, or None if done."""
    if context.first_failed_at is None:
        return None
    for days in CHARGEBEE_DEFAULT_RETRY_DAYS:
        at = context.first_failed_at + timedelta(days=days)
        if at > context.at:
            return at
    return None
