"""RQ jobs that run across layers: deciding after an event, and the relays behind it.

They take ids, call a service, and are safe to run twice.
"""

from __future__ import annotations

from dataclasses import asdict

from dunning.pipeline.decide import gateway_pauses_check
from dunning.pipeline.promises import promises_check
from dunning.pipeline.triggers import decisions_relay
from dunning.sync.decision_requests import decision_jobs_failed_requeue


def relay_missing_decisions_job() -> int:
    """Payment failures still without a decision, and decision jobs that failed."""
    return decisions_relay() + decision_jobs_failed_requeue()


def check_gateway_pauses_job() -> list[str]:
    return [
        f"{pause.gateway}: {redecided} re-decided" for pause, redecided in gateway_pauses_check()
    ]


def promises_check_job() -> dict:
    """Settle promises to pay whose day is over: kept, or broken (the case reopens)."""
    checked = asdict(promises_check())
    checked.pop("reopened")
    return checked
