"""Where a limited number of retries recover the most: the next retry of the best plan.

Given each candidate slot's chance for the next retry, the one after it, and so on (a
declined retry lowers the next one's chance), the best plan for the remaining budget is
found backwards over the slots (dynamic programming):

    value[b][i] = max over slots j >= i of
                  worth(j) * p_k(j) + (1 - p_k(j)) * value[b - 1][j + spacing]

where ``k`` counts the retries already spent, ``worth`` discounts money that comes later,
and ``spacing`` keeps two retries apart. The first slot of that plan is the retry to
schedule now; the plan's value is the chance that the remaining retries recover the
invoice. The simulator's oracle runs the same search on the simulator's true chances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RetryPlan:
    first: int  # index of the slot to retry at now
    value: float  # chance (discounted) that the plan's retries recover the invoice
    first_chance: float  # the first retry's own chance
    retries: int  # retries the plan uses (before it stops)


def retry_plan_search(
    *, chances: np.ndarray, worth: np.ndarray, spacing: int, floor: float = 0.0
) -> RetryPlan | None:
    """``chances[k, j]``: the chance of the (k+1)-th remaining retry at slot ``j``.

    ``worth[j]``: what a recovery at slot ``j`` is worth relative to now (1 = full).
    Slots whose chance is under ``floor`` are never used. None: no slot is worth a retry.
    """
    budget, slots = chances.shape
    if budget == 0 or slots == 0:
        return None
    usable = np.where(chances >= floor, chances, 0.0)
    later = np.zeros(slots + spacing + 1)  # value of the retries after this one, from slot i
    keep_first = None
    for k in range(budget - 1, -1, -1):
        p = usable[k]
        gain = worth * p + (1 - p) * later[spacing : spacing + slots]
        gain = np.where(p > 0, gain, 0.0)
        best_from = np.maximum.accumulate(gain[::-1])[::-1]
        if k == 0:
            keep_first = gain
        later = np.concatenate([best_from, np.zeros(spacing + 1)])
    first = int(np.argmax(keep_first))
    if keep_first[first] <= 0:
        return None
    return RetryPlan(
        first=first,
        value=float(keep_first[first]),
        first_chance=float(chances[0, first]),
        retries=budget,
    )
