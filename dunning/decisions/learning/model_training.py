"""Train, measure and (only if it is better) record a model version: shared by both models.

The hold-out is the most recent quarter of the examples: a model is judged on the future it
did not see, beside a baseline a dunning team would use without a model and beside the
active version on the same hold-out. It is activated only when it beats both.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from sklearn.metrics import brier_score_loss, roc_auc_score

from dunning.governance.audit import audit_record
from dunning.models import ModelVersion

HOLDOUT_SHARE = 0.25


class ColdStart(Exception):
    """Too little labelled history: the rules and the prior stay in charge."""


@dataclass(frozen=True)
class TrainingResult:
    version: ModelVersion
    activated: bool


@dataclass(frozen=True)
class TrainingSet:
    """Examples sorted by time; ``fit`` returns an artifact with ``predict_proba``."""

    kind: str
    what: str  # "failed invoices with a known outcome"
    features: list[str]
    times: np.ndarray  # Unix seconds, ascending
    x: object  # anything sliceable by rows
    y: np.ndarray
    fit: Callable[[object, np.ndarray], object]
    baseline_name: str
    baseline: Callable[[slice, slice], np.ndarray]  # (train rows, test rows) -> predictions
    min_examples: int
    # What the hold-out verdict compares: "roc_auc" (ranking; the recovery score) or "brier"
    # (the probabilities themselves: the retry model's chances are compared across slots).
    gate: str = "roc_auc"


def calibration_table(labels: np.ndarray, predicted: np.ndarray, bins: int = 10) -> list[dict]:
    order = np.argsort(predicted)
    table = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            table.append(
                {
                    "predicted": round(float(predicted[chunk].mean()), 3),
                    "observed": round(float(labels[chunk].mean()), 3),
                    "n": len(chunk),
                }
            )
    return table


def scores(labels: np.ndarray, predicted: np.ndarray) -> dict:
    auc = roc_auc_score(labels, predicted) if len(set(labels.tolist())) > 1 else float("nan")
    return {
        "roc_auc": round(float(auc), 4),
        "brier": round(float(brier_score_loss(labels, predicted)), 4),
    }


def _moment(seconds) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def model_version_train(
    training: TrainingSet, *, on_step: Callable[[str], None] | None = None
) -> TrainingResult:
    step = on_step or (lambda name: None)
    t = training
    if len(t.y) < t.min_examples or len(set(t.y.tolist())) < 2:
        raise ColdStart(
            f"{len(t.y)} {t.what} (need {t.min_examples} with both outcomes): the rules "
            "and the prior stay in charge"
        )
    cut = int(len(t.y) * (1 - HOLDOUT_SHARE))
    train, test = slice(0, cut), slice(cut, len(t.y))
    y_test = t.y[test]

    step("training")
    artifact = t.fit(t.x[train], t.y[train])
    step("measuring on the hold-out")
    predicted = artifact.predict_proba(t.x[test])[:, 1]
    baseline = t.baseline(train, test)
    metrics = {
        "model": {**scores(y_test, predicted), "calibration": calibration_table(y_test, predicted)},
        "baseline": {
            "name": t.baseline_name,
            **scores(y_test, baseline),
            "calibration": calibration_table(y_test, baseline),
        },
        "holdout": {
            "examples": len(y_test),
            "from": _moment(t.times[cut]).isoformat(),
            "positive": int(y_test.sum()),
        },
    }
    active = ModelVersion.objects.filter(kind=t.kind, active=True).first()
    if active is not None:
        try:
            previous = pickle.loads(active.artifact)  # noqa: S301 - our own training output
            measured = scores(y_test, previous.predict_proba(t.x[test])[:, 1])
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            # Trained on other features: it cannot be compared, so it does not block.
            measured = {"error": f"cannot score this hold-out: {exc}"[:200]}
        metrics["active"] = {"version": active.version, **measured}
    activate, note = _verdict(metrics, gate=t.gate)

    step("recording the version")
    with transaction.atomic():
        number = (
            ModelVersion.objects.filter(kind=t.kind).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        if activate:
            ModelVersion.objects.filter(kind=t.kind, active=True).update(active=False)
        version = ModelVersion.objects.create(
            kind=t.kind,
            version=number,
            trained_at=timezone.now(),
            examples=cut,
            window_start=_moment(t.times[0]),
            window_end=_moment(t.times[cut - 1]),
            features=t.features,
            metrics=metrics,
            active=activate,
            decision_note=note,
            artifact=pickle.dumps(artifact),
        )
        audit_record(
            action="model.trained",
            actor_label="train_recovery_model",
            target=version,
            data={
                "kind": t.kind,
                "version": number,
                "activated": activate,
                "note": note,
                "model": {k: metrics["model"][k] for k in ("roc_auc", "brier")},
                "baseline": {k: metrics["baseline"][k] for k in ("roc_auc", "brier")},
                "label_balance": {"True": int(t.y.sum()), "False": int(len(t.y) - t.y.sum())},
            },
        )
    return TrainingResult(version=version, activated=activate)


def _verdict(metrics: dict, *, gate: str = "roc_auc") -> tuple[bool, str]:
    model, baseline = metrics["model"], metrics["baseline"]
    if gate == "brier":
        better = model["brier"] < baseline["brier"]
        measured = f"Brier {model['brier']} vs the baseline's {baseline['brier']}"
    else:
        better = model["roc_auc"] > baseline["roc_auc"]
        measured = f"ROC AUC {model['roc_auc']} vs the baseline's {baseline['roc_auc']}"
    if not better:
        return False, f"not activated: {measured} (lower Brier / higher ROC AUC is better)"
    active = metrics.get("active")
    if active and "error" not in active:
        if gate == "brier":
            beaten = model["brier"] <= active["brier"]
        else:
            beaten = model["roc_auc"] > active["roc_auc"] and model["brier"] <= active["brier"]
        if not beaten:
            return False, (
                f"not activated: v{active['version']} scores ROC AUC {active['roc_auc']}, "
                f"Brier {active['brier']} on the same hold-out"
            )
    return True, f"activated: {measured}"
