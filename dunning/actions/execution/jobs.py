"""RQ jobs of action execution. They take ids and are safe to run twice.

``dunning.actions.execution.enqueue`` names ``run_action_job`` by its path (RUN_ACTION_JOB):
the executor enqueues its own retries through it, so it cannot import this module.
"""

from __future__ import annotations

from dunning.actions.execution.executor import action_run
from dunning.actions.execution.sweep import actions_sweep


def run_action_job(action_id: int) -> str:
    return action_run(action_id=action_id).value


def sweep_actions_job() -> int:
    return actions_sweep()
