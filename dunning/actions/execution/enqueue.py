"""Putting an action's run on the queue: at its time, or now when it is due.

The database is the source of truth; a job only says "look at action N now". Losing one
(Redis down at enqueue time) costs a minute at most: the sweep finds the action due.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from dunning.helpers.queueing import get_queue, job_on_its_way
from dunning.models import Action, ActionState, AutomationMode

logger = logging.getLogger("dunwell.execution")

QUEUE = "actions"
JOB_TIMEOUT = 600  # seconds; below the executor's claim timeout
FAILURE_TTL = 7 * 86400

# By path: the job module imports the executor, which enqueues through this module.
RUN_ACTION_JOB = "dunning.actions.execution.jobs.run_action_job"


def action_job_id(*, action_id: int, attempts: int) -> str:
    # One id per attempt: a run that postpones itself schedules the next under a new id.
    return f"run-action-{action_id}-{attempts}"


def action_enqueue(*, action_id: int) -> bool:
    """Enqueue the run of a scheduled action at its time; False if Redis is unreachable."""
    row = (
        Action.objects.filter(pk=action_id, state=ActionState.SCHEDULED)
        .exclude(mode=AutomationMode.SHADOW)
        .values("attempts", "scheduled_for", "next_attempt_at")
        .first()
    )
    if row is None:
        return False
    when = row["next_attempt_at"] or row["scheduled_for"]
    job_id = action_job_id(action_id=action_id, attempts=row["attempts"])
    options = {"job_id": job_id, "job_timeout": JOB_TIMEOUT, "failure_ttl": FAILURE_TTL}
    try:
        queue = get_queue(QUEUE)
        if when is not None and when > timezone.now():
            queue.enqueue_at(when, RUN_ACTION_JOB, action_id, **options)
            return True
        if job_on_its_way(queue=queue, job_id=job_id):
            return True
        queue.enqueue(RUN_ACTION_JOB, action_id, **options)
    except (RedisError, OSError) as error:
        logger.warning("could not enqueue action %s; the sweep will: %s", action_id, error)
        return False
    return True


def action_enqueue_on_commit(*, action_id: int) -> None:
    transaction.on_commit(partial(action_enqueue, action_id=action_id), robust=True)
