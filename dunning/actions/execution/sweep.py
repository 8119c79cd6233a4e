"""Every minute: enqueue the scheduled actions that are due and that no live worker runs.

Catches what a lost enqueue, a Redis restart or a dead worker left behind. An action whose
claim is older than the executor's timeout was being run by a worker that died; running it
again is safe (the claim and Chargebee's idempotency keys see to that).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from dunning.actions.execution.enqueue import action_enqueue
from dunning.actions.execution.executor import RUNNABLE_MODES, due_filter, free_filter
from dunning.models import Action, ActionState

SWEEP_LIMIT = 500


def actions_due(*, at: datetime | None = None, limit: int = SWEEP_LIMIT) -> list[int]:
    now = at or timezone.now()
    return list(
        Action.objects.filter(state=ActionState.SCHEDULED, mode__in=RUNNABLE_MODES)
        .filter(due_filter(now), free_filter(now))
        .order_by("scheduled_for", "id")
        .values_list("pk", flat=True)[:limit]
    )


def actions_sweep(*, at: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Enqueue every due action nobody runs; returns how many were enqueued."""
    return sum(action_enqueue(action_id=pk) for pk in actions_due(at=at, limit=limit))
