"""The features of charging at a candidate moment, as the retry model and the prior read them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dunning.decisions.context import DecisionContext
from dunning.decisions.timing.moments import moment_features


@dataclass(frozen=True)
class RetryRows:
    """Model input as columns: what ``RetryModel`` reads, sliceable by rows."""

    categories: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]

    def __getitem__(self, rows) -> RetryRows:
        return RetryRows(
            {k: v[rows] for k, v in self.categories.items()},
            {k: v[rows] for k, v in self.numbers.items()},
        )

    def __len__(self) -> int:
        return len(next(iter(self.numbers.values())))


def _first_decline(context: DecisionContext) -> dict:
    known = context.recovery_features
    decline = context.decline
    return {
        "decline_code": known.get("decline_code") or (decline.decline_code if decline else ""),
        "error_category": known.get("error_category")
        or (decline.error_category if decline else ""),
        "advice_code": known.get("advice_code") or (decline.advice_code if decline else ""),
        "brand": known.get("brand") or (decline.brand if decline else ""),
        "funding": known.get("funding", ""),
        "gateway": known.get("gateway") or context.gateway,
        "country": known.get("country") or context.country,
    }


def slot_rows(*, context: DecisionContext, slots: list[datetime]) -> tuple[RetryRows, dict]:
    """The model's input for charging at each of ``slots``, from what ``context`` knows."""
    n = len(slots)
    failed = context.first_failed_at or context.at
    at = np.array([s.timestamp() for s in slots], dtype=np.int64)
    moments = moment_features(
        failed_at=np.full(n, int(failed.timestamp()), dtype=np.int64),
        at=at,
        zones=np.full(n, context.time_zone, dtype=object),
    )
    known = context.recovery_features
    constant = {
        "attempts_so_far": float(max(context.invoice_failures, 1)),
        "card_changed": float(context.card_changed_since_failure),
        "log_amount": known.get("log_amount", math.log1p(max(context.amount_due, 0) / 100)),
        "tenure_days": known.get("tenure_days", float(context.tenure_days)),
        "prior_failures_365d": known.get("prior_failures_365d", 0.0),
    }
    numbers = {k: np.asarray(v, dtype=float) for k, v in moments.items()}
    numbers.update({k: np.full(n, float(v)) for k, v in constant.items()})
    categories = {
        k: np.full(n, v or "none", dtype=object) for k, v in _first_decline(context).items()
    }
    return RetryRows(categories, numbers), moments


def plan_rows(*, context: DecisionContext, slots: list[datetime], budget: int) -> RetryRows:
    """``slot_rows`` for each of the next ``budget`` retries, stacked: block ``k`` describes
    the retry after ``k`` more declines (one more attempt so far each)."""
    rows, _ = slot_rows(context=context, slots=slots)
    categories = {k: np.tile(v, budget) for k, v in rows.categories.items()}
    numbers = {k: np.tile(v, budget) for k, v in rows.numbers.items()}
    numbers["attempts_so_far"] = numbers["attempts_so_far"] + np.repeat(
        np.arange(budget, dtype=float), len(slots)
    )
    return RetryRows(categories, numbers)


PAYDAY_MARKS = [
    ("crossed_first", "the 1st"),
    ("crossed_15th", "the 15th"),
    ("crossed_last_business_day", "the last business day"),
    ("crossed_25th", "the 25th"),
]


def slot_reason_text(*, context: DecisionContext, slot: datetime) -> str:
    """Which likely paydays the slot comes after, and how long after the decline.

    (The slot's local time is already in the decision's sentence.)
    """
    _rows, m = slot_rows(context=context, slots=[slot])
    parts = [name for key, name in PAYDAY_MARKS if m[key][0]]
    fridays = int(m["fridays_crossed"][0])
    if fridays:
        parts.append("a Friday" if fridays == 1 else f"{fridays} Fridays")
    hours = float(m["hours_since_failure"][0])
    since = f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
    paydays = f"after {' and '.join(parts[:2])}, " if parts else ""
    return f"{paydays}{since} after the decline"
