"""Experiments and their outcomes, written straight into the database for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from analytics.experiments.service import VariantSpec, experiment_create
from analytics.models import Assignment, Experiment
from dunning.models import InvoiceFailure

STARTED = datetime(2026, 11, 1, tzinfo=UTC)


def running_experiment(
    user,
    *,
    name: str = "sms first",
    variant: dict | None = None,
    effect: float = 0.1,
    segment: str = "",
) -> Experiment:
    """Control (today's sequence) against one variant, running since ``STARTED``."""
    experiment = experiment_create(
        user=user,
        name=name,
        hypothesis="An SMS is read sooner than an email.",
        segment=segment,
        baseline_rate=0.3,
        minimum_effect=effect,
        alpha=0.05,
        power=0.8,
        window_days=28,
        variants=[
            VariantSpec("control", "Today's sequence", {}, is_control=True),
            VariantSpec("treatment", "The variant", variant or {"channel": "sms"}),
        ],
    )
    Experiment.objects.filter(pk=experiment.pk).update(status="running", started_at=STARTED)
    experiment.refresh_from_db()
    return experiment


def outcome(
    experiment: Experiment, key: str, n: int, *, recovered: bool | None, paid_late: bool = False
) -> Assignment:
    """An assignment whose window ended (recovered or not), or is still open (None)."""
    now = timezone.now()
    failed_at = now - timedelta(days=10 if recovered is None else 40)
    invoice = f"inv_{key}_{n}"
    window_end = failed_at + timedelta(days=experiment.window_days)
    paid_at = None
    if recovered:
        paid_at = window_end + timedelta(days=2) if paid_late else failed_at + timedelta(days=3)
    InvoiceFailure.objects.create(
        invoice_cb_id=invoice,
        first_failure_cb_id=f"txn_{invoice}",
        first_failed_at=failed_at,
        is_recovered=bool(recovered),
        paid_at=paid_at,
        refreshed_at=now,
    )
    return Assignment.objects.create(
        experiment=experiment,
        variant=experiment.variants.get(key=key),
        invoice_id=invoice,
        first_failed_at=failed_at,
        window_end=window_end,
    )


def outcomes(
    experiment: Experiment, key: str, *, recovered: int, failed: int, pending: int = 0
) -> None:
    n = 0
    for value, count in ((True, recovered), (False, failed), (None, pending)):
        for _ in range(count):
            n += 1
            outcome(experiment, key, n, recovered=value)
