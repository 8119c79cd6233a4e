"""Which payday a customer is likely on, from when their own past lack-of-funds declines cleared.

Nobody tells Dunwell a customer's payday. Each earlier invoice of theirs that was declined
for lack of funds and paid later says the money arrived between the two moments: a payday
kind whose mark (a Friday, the 1st, the 15th, the 25th, the last business day, in their
local time) fell in between becomes likelier, one that did not, less likely. Customers with
no such history get the pooled shares of the prior. Only what happened before the decision
is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dunning.decisions.learning.retry_prior import PAYDAY_SHARES
from dunning.decisions.timing.moments import moment_features

# How likely a recovery is when the customer's payday did not fall in between (pay from
# elsewhere, a transfer between accounts): the evidence against a kind is soft.
MISSED_MARK = 0.3


def payday_shares(
    *, recoveries: Sequence[tuple[float, float]], time_zone: str
) -> tuple[tuple[str, float], ...]:
    """Posterior share of each payday kind, given (declined at, paid at) pairs in Unix seconds."""
    if not recoveries:
        return ()
    failed = np.array([int(a) for a, _ in recoveries], dtype=np.int64)
    paid = np.array([int(b) for _, b in recoveries], dtype=np.int64)
    m = moment_features(
        failed_at=failed, at=paid, zones=np.full(len(failed), time_zone, dtype=object)
    )
    crossed = {
        "friday": m["fridays_crossed"] >= 1,
        "first": m["crossed_first"].astype(bool),
        "fifteenth": m["crossed_15th"].astype(bool),
        "last_business_day": m["crossed_last_business_day"].astype(bool),
        "twenty_fifth": m["crossed_25th"].astype(bool),
    }
    weights = {
        kind: share * float(np.prod(np.where(crossed[kind], 1.0, MISSED_MARK)))
        for kind, share in PAYDAY_SHARES.items()
    }
    total = sum(weights.values())
    return tuple((kind, round(weight / total, 4)) for kind, weight in weights.items())
