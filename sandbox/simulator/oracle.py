"""The best any retry policy could do: one that knows each attempt's true chance.

The oracle has the same retry budget, the same 28-day window, the same spacing and the
same network rules as Dunwell, and tells the customer after each decline as Dunwell does;
it differs only in knowing ``outcomes.retry_success_probability``. It places its retries
with Dunwell's own plan search (``dunning.decisions.timing.retry_plan``) run on the true chances,
so "Dunwell's share of the oracle" measures what Dunwell does not know, not how it searches.
"""

from __future__ import annotations

import numpy as np

from dunning.decisions.rules.network_rules import Verdict
from dunning.decisions.timing.retry_plan import retry_plan_search
from sandbox.simulator import parameters as p
from sandbox.simulator.outcomes import retry_success_probability
from sandbox.simulator.policy_replay import InvoiceRun

SLOT = 3 * p.HOUR
SPACING = 24 * p.HOUR
SHORT_SPACING = p.HOUR  # after a gateway or issuer outage, as Dunwell's rules allow
LINK_REMINDER = 3 * p.DAY
TEMPORARY = frozenset({"issuer_unavailable", "processing_error", "gateway_unavailable"})


def _earliest(run: InvoiceRun, now: float) -> float | None:
    """When the network rules next allow a retry (None: never on this card)."""
    last_at = run.failures[-1][0]
    rules = run.rules()
    if rules.verdict is not Verdict.RETRY:
        return None
    gap = SHORT_SPACING if run.case.reason in TEMPORARY or run.card_changed else SPACING
    allowed = rules.earliest.timestamp() if rules.earliest else last_at
    return max(allowed, last_at + gap, now + 300)


def _chances(run: InvoiceRun, slots: np.ndarray, budget: int) -> np.ndarray:
    c = run.case
    first = np.array(
        [
            retry_success_probability(
                c.customer,
                reason=c.reason,
                failed_at=c.failed_at,
                attempt_at=float(t),
                amount=c.amount,
                card_updated=run.card_updated_at is not None,
                gateway_down=run.gateway_down(float(t)),
                retries_so_far=len(run.failures) - 1,
            )
            for t in slots
        ]
    )
    # A declined retry lowers the next one's chance by the world's fatigue (capped as above).
    return np.array([np.minimum(first * p.RETRY_FATIGUE**k, 0.97) for k in range(budget)])


def play_oracle(run: InvoiceRun, *, budget: int, window_days: int = 28) -> None:
    c = run.case
    run.email(c.failed_at)
    window_end = c.failed_at + window_days * p.DAY
    reminders = [c.failed_at + LINK_REMINDER]
    now, used, asked_for_card = c.failed_at, 0, False
    while True:
        if run.update_due is not None and run.update_due <= window_end:
            upcoming = run.update_due
        else:
            upcoming = None
        earliest = _earliest(run, now)
        next_try = None
        if earliest is not None and (used < budget or run.card_changed):
            slots = np.arange(earliest, window_end + 1, SLOT)
            if len(slots):
                left = 1 if run.card_changed else budget - used
                plan = retry_plan_search(
                    chances=_chances(run, slots, left),
                    worth=np.ones(len(slots)),
                    spacing=int(SPACING // SLOT),
                )
                if plan is not None:
                    next_try = float(slots[plan.first])
        while reminders and reminders[0] < min(t for t in (next_try, upcoming, window_end) if t):
            run.email(reminders.pop(0))
            if run.update_due is not None and upcoming is None and run.update_due <= window_end:
                upcoming = run.update_due
        if upcoming is not None and (next_try is None or upcoming < next_try):
            now = run.card_update()
            continue
        if next_try is None:
            if asked_for_card or run.card_updated_at is not None:
                return
            asked_for_card = True  # as Dunwell does when it stops: a link to a new card
            run.email(now)
            continue
        used += 0 if run.card_changed else 1
        if run.attempt(next_try):
            return
        now = next_try
        run.email(now)
