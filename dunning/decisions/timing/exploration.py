"""Learning from its own retries: a small share placed at a random allowed slot.

Dunwell's retry model learns from when retries were made and whether they worked. If
every retry lands where the model already thinks best, the log never shows what the other
slots would have done, and a candidate model cannot be judged on it. So in auto mode a
share of retries (the ``exploration_share`` guardrail, 5% by default; always 0 in shadow
and approve mode) goes to a slot drawn uniformly from the *allowed* ones:

- after every network rule, the spacing and the gateway hold (the candidates start at the
  earliest moment the rules allow; a decline the rules forbid never reaches a retry);
- inside the dunning window and worth a retry (at least the confidence floor);
- outside the customer's quiet hours (their local night).

Each retry stores its *propensity*, the probability that the policy picks that slot:
``1 - share + share / n`` for the best slot (``1 - share`` when it is not one of the ``n``
allowed, e.g. in the quiet hours), and ``share / n`` for any other allowed slot.
Off-policy estimates (``off_policy.py``) weigh the logged retries by it. The draw is
seeded by the invoice and the attempt number, so a decision replayed (or made again
before the retry ran) draws the same.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dunning.decisions.timing.quiet_hours import QuietHours

MAX_EXPLORATION_SHARE = 0.2
# Quiet hours when the site has none of its own: no explored retry lands at night.
NIGHT = QuietHours(time(21, 0), time(8, 0))


@dataclass(frozen=True)
class RetryChoice:
    at: datetime
    probability: float  # the model's chance at the chosen slot
    propensity: float  # P(the policy picks this slot)
    explored: bool
    allowed: int  # how many slots exploration could have picked from
    best_allowed: bool  # the best slot is one of them (not in the customer's quiet hours)


def allowed_slots(
    *, options: list[tuple[datetime, float]], floor: float, time_zone: str, quiet: QuietHours | None
) -> list[tuple[datetime, float]]:
    """The candidate (slot, chance) pairs exploration may pick: worth a retry, not at night."""
    zone = ZoneInfo(time_zone)
    night = quiet or NIGHT
    return [
        (at, chance)
        for at, chance in options
        if chance >= floor and not night.covers(at.astimezone(zone).time())
    ]


def slot_propensity(
    *, at: datetime, greedy: datetime, allowed: list[datetime], share: float
) -> float:
    """P(the policy picks ``at``): the best slot with 1 - share, any allowed with share / n."""
    explored = share / len(allowed) if at in allowed else 0.0
    return (1.0 - share if at == greedy else 0.0) + explored


def exploration_draw(*, invoice_id: str, attempt: int) -> random.Random:
    """The invoice's and attempt's own random numbers: the same every time it is decided."""
    seed = hashlib.sha256(f"explore:{invoice_id}:{attempt}".encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def retry_choose(
    *,
    greedy: tuple[datetime, float],
    options: list[tuple[datetime, float]],
    share: float,
    invoice_id: str,
    attempt: int,
    floor: float,
    time_zone: str,
    quiet: QuietHours | None,
) -> RetryChoice:
    """The best slot, or with probability ``share`` a random allowed one."""
    allowed = allowed_slots(options=options, floor=floor, time_zone=time_zone, quiet=quiet)
    moments = [at for at, _ in allowed]
    if share <= 0 or not allowed:
        return RetryChoice(greedy[0], greedy[1], 1.0, False, len(allowed), greedy[0] in moments)
    rng = exploration_draw(invoice_id=invoice_id, attempt=attempt)
    at, chance = greedy
    if rng.random() < share:
        at, chance = allowed[rng.randrange(len(allowed))]
    return RetryChoice(
        at=at,
        probability=chance,
        propensity=slot_propensity(at=at, greedy=greedy[0], allowed=moments, share=share),
        explored=at != greedy[0],
        allowed=len(allowed),
        best_allowed=greedy[0] in moments,
    )
