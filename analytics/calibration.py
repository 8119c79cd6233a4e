"""Is the recovery score a probability? Predicted against observed, live and at training.

Live: every invoice's first scored decision in the period (any mode), grouped by its
recovery score in tenths (0-10%, 10-20%, ... 90-100%), against the share of those invoices
recovered within the dunning window after the decision. Only settled decisions count
(recovered, or the window has passed). In approve and auto mode Dunwell's own actions
shaped the outcome; in shadow mode Chargebee's schedule did, which is what the model was
trained on.

At training: the calibration table the active recovery model version stored for its
time-based hold-out (``ModelVersion.metrics``, written by ``dunning.decisions.
model_training``), with its ROC AUC and Brier score beside the baseline's.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Avg, Count, F, IntegerField, Q, Value
from django.db.models.functions import Cast, Floor, Least
from django.utils import timezone

from analytics.shadow import (
    DEFAULT_WINDOW_DAYS,
    deciding_decisions,
    first_per_invoice,
    with_outcome,
)
from dunning.models import ModelVersion

BUCKETS = 10


def bucket_label(bucket: int) -> str:
    return f"{bucket * 10}-{bucket * 10 + 10}%"


def calibration_buckets(
    *,
    since: datetime,
    until: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    now: datetime | None = None,
) -> list[dict]:
    """One dict per non-empty tenth: bucket, decisions, predicted and observed (in %)."""
    decisions = first_per_invoice(deciding_decisions(since=since, until=until)).filter(
        recovery_score__isnull=False
    )
    rows = (
        with_outcome(decisions, window_days=window_days, now=now or timezone.now())
        .filter(settled_flag=True)
        .annotate(
            bucket=Cast(
                Least(Floor(F("recovery_score") * BUCKETS), Value(BUCKETS - 1)),
                output_field=IntegerField(),
            )
        )
        .values("bucket")
        .annotate(
            decisions=Count("pk"),
            predicted=Avg("recovery_score"),
            recovered=Count("pk", filter=Q(recovered_flag=True)),
        )
        .order_by("bucket")
    )
    return [
        {
            "bucket": int(r["bucket"]),
            "label": bucket_label(int(r["bucket"])),
            "decisions": r["decisions"],
            "predicted": round(100 * r["predicted"], 1),
            "observed": round(100 * r["recovered"] / r["decisions"], 1),
        }
        for r in rows
    ]


def active_model_metrics() -> dict | None:
    """The active recovery model's hold-out figures, as stored when it was trained."""
    version = (
        ModelVersion.objects.filter(kind=ModelVersion.Kind.RECOVERY, active=True)
        .defer("artifact")
        .first()
    )
    if version is None:
        return None
    metrics = version.metrics or {}
    model, baseline = metrics.get("model", {}), metrics.get("baseline", {})
    holdout = metrics.get("holdout", {})
    return {
        "version": version.version,
        "trained_at": version.trained_at,
        "examples": version.examples,
        "roc_auc": model.get("roc_auc"),
        "brier": model.get("brier"),
        "baseline_name": baseline.get("name", "baseline"),
        "baseline_roc_auc": baseline.get("roc_auc"),
        "baseline_brier": baseline.get("brier"),
        "holdout_examples": holdout.get("examples"),
        "holdout_from": holdout.get("from", "")[:10],
        "calibration": [
            {
                "predicted": round(100 * row["predicted"], 1),
                "observed": round(100 * row["observed"], 1),
                "n": row["n"],
            }
            for row in model.get("calibration", [])
        ],
    }
