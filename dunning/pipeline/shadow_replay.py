"""A shadow period over history: what Dunwell would have decided at each first failure.

A cautious team runs Dunwell in shadow mode before letting it act. With a year of history
already mirrored (a backfill), the same evidence can be had at once: decide about every
invoice's first failure in a past stretch *as of that moment* (decisions only ever see what
was known then) under the guardrails in force, which must be shadow for the segments being
judged. Chargebee's own dunning handled those invoices, so the shadow comparison
(``analytics.shadow``) finds what it did and how each one ended.

Honest only on history the models did not learn from: the demo replays the part of the
recovery model's time-based hold-out whose dunning window has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dunning.models import Decision, InvoiceFailure
from dunning.pipeline.decide import decision_make, gateway_pauses_check


def shadow_replay_candidates(*, since: datetime, until: datetime):
    """(invoice id, first failure) of invoices first failing in [since, until), oldest first,
    that have no decision yet."""
    return (
        InvoiceFailure.objects.filter(first_failed_at__gte=since, first_failed_at__lt=until)
        .exclude(invoice_cb_id__in=Decision.objects.values("invoice_id"))
        .order_by("first_failed_at", "invoice_cb_id")
        .values_list("invoice_cb_id", "first_failed_at")
    )


def shadow_period_replay(
    *, since: datetime, until: datetime, on_decision: Callable[[], None] | None = None
) -> int:
    """Decide about each candidate as of its first failure; returns how many were decided.

    Gateway pauses are checked at each moment first, as the minute-by-minute check would
    have done, so a past outage ends when the gateway recovered rather than holding every
    later retry."""
    decided = 0
    for invoice_id, failed_at in list(shadow_replay_candidates(since=since, until=until)):
        gateway_pauses_check(at=failed_at)
        decision_make(invoice_id=invoice_id, trigger=Decision.Trigger.PAYMENT_FAILED, at=failed_at)
        decided += 1
        if on_decision:
            on_decision()
    return decided
