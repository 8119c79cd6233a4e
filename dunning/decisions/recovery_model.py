"""Train, measure and (only if it is better) activate the recovery model.

The hold-out is the most recent quarter of failures: the model is judged on the future it
did not see. The baseline is the fixed rule a dunning team would use without a model: the
historical recovery rate of the decline code.
"""

from __future__ import annotations

import pickle
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from dunning.audit import audit_record
from dunning.decisions.recovery_data import (
    CATEGORICAL,
    FEATURES,
    Example,
    recovery_examples,
)
from dunning.models import ModelVersion

MIN_EXAMPLES = 200
HOLDOUT_SHARE = 0.25


class ColdStart(Exception):
    """Too little labelled history: rules and Chargebee's own schedule stay in charge."""


@dataclass(frozen=True)
class TrainingResult:
    version: ModelVersion
    activated: bool


def _matrix(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array([[e.features[name] for name in FEATURES] for e in examples], dtype=object)
    labels = np.array([1 if e.recovered else 0 for e in examples])
    return rows, labels


def build_pipeline(size: int) -> Pipeline:
    categorical = list(range(len(CATEGORICAL)))
    numeric = list(range(len(CATEGORICAL), len(FEATURES)))
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False), categorical),
         ("numbers", "passthrough", numeric)]
    )  # fmt: skip
    booster = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, random_state=0
    )
    method = "isotonic" if size >= 1000 else "sigmoid"
    return Pipeline(
        [("encode", encode), ("model", CalibratedClassifierCV(booster, method=method, cv=3))]
    )


def calibration_table(labels: np.ndarray, predicted: np.ndarray, bins: int = 10) -> list[dict]:
    order = np.argsort(predicted)
    table = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            table.append({"predicted": round(float(predicted[chunk].mean()), 3),
                          "observed": round(float(labels[chunk].mean()), 3), "n": len(chunk)})  # fmt: skip
    return table


def _scores(labels: np.ndarray, predicted: np.ndarray) -> dict:
    auc = roc_auc_score(labels, predicted) if len(set(labels)) > 1 else float("nan")
    return {
        "roc_auc": round(float(auc), 4),
        "brier": round(float(brier_score_loss(labels, predicted)), 4),
    }


def decline_rate_baseline(train: list[Example], test: list[Example]) -> np.ndarray:
    outcomes: dict[str, list[int]] = defaultdict(list)
    for example in train:
        outcomes[example.features["decline_code"]].append(1 if example.recovered else 0)
    overall = sum(1 for e in train if e.recovered) / len(train)
    rates = {
        code: (sum(v) + overall * 5) / (len(v) + 5) for code, v in outcomes.items()
    }  # smoothed
    return np.array([rates.get(e.features["decline_code"], overall) for e in test])


def recovery_model_train(*, on_step: Callable[[str], None] | None = None) -> TrainingResult:
    step = on_step or (lambda name: None)
    step("reading history")
    labelled = [e for e in recovery_examples() if e.recovered is not None]
    if len(labelled) < MIN_EXAMPLES or len({e.recovered for e in labelled}) < 2:
        raise ColdStart(
            f"{len(labelled)} failed invoices with a known outcome (need {MIN_EXAMPLES} with both "
            "outcomes): rules and Chargebee's default schedule stay in charge"
        )
    cut = int(len(labelled) * (1 - HOLDOUT_SHARE))
    train, test = labelled[:cut], labelled[cut:]
    x_train, y_train = _matrix(train)
    x_test, y_test = _matrix(test)

    step("training")
    pipeline = build_pipeline(len(train)).fit(x_train, y_train)
    step("measuring on the hold-out")
    predicted = pipeline.predict_proba(x_test)[:, 1]
    metrics = {
        "model": {**_scores(y_test, predicted), "calibration": calibration_table(y_test, predicted)},
        "baseline": {"name": "recovery rate of the decline code", **_scores(y_test, decline_rate_baseline(train, test))},
        "holdout": {"examples": len(test), "from": test[0].failed_at.isoformat(), "recovered": int(y_test.sum())},
    }  # fmt: skip
    active = ModelVersion.objects.filter(kind=ModelVersion.Kind.RECOVERY, active=True).first()
    if active is not None:
        previous = pickle.loads(active.artifact)  # noqa: S301 - our own training output
        metrics["active"] = {
            "version": active.version,
            **_scores(y_test, previous.predict_proba(x_test)[:, 1]),
        }
    activate, note = _verdict(metrics)

    step("recording the version")
    with transaction.atomic():
        number = (
            ModelVersion.objects.filter(kind=ModelVersion.Kind.RECOVERY).aggregate(
                n=Max("version")
            )["n"]
            or 0
        ) + 1
        if activate:
            ModelVersion.objects.filter(kind=ModelVersion.Kind.RECOVERY, active=True).update(
                active=False
            )
        version = ModelVersion.objects.create(
            kind=ModelVersion.Kind.RECOVERY, version=number, trained_at=timezone.now(),
            examples=len(train), window_start=train[0].failed_at, window_end=train[-1].failed_at,
            features=FEATURES, metrics=metrics, active=activate, decision_note=note,
            artifact=pickle.dumps(pipeline),
        )  # fmt: skip
        audit_record(
            action="model.trained", actor_label="train_recovery_model", target=version,
            data={"version": number, "activated": activate, "note": note,
                  "model": {k: metrics["model"][k] for k in ("roc_auc", "brier")},
                  "baseline": {k: metrics["baseline"][k] for k in ("roc_auc", "brier")},
                  "label_balance": dict(Counter(bool(e.recovered) for e in labelled))},
        )  # fmt: skip
    return TrainingResult(version=version, activated=activate)


def _verdict(metrics: dict) -> tuple[bool, str]:
    model, baseline = metrics["model"], metrics["baseline"]
    if not model["roc_auc"] > baseline["roc_auc"]:
        return (
            False,
            f"not activated: ROC AUC {model['roc_auc']} does not beat the baseline's {baseline['roc_auc']}",
        )
    active = metrics.get("active")
    if active and not (model["roc_auc"] > active["roc_auc"] and model["brier"] <= active["brier"]):
        return False, (f"not activated: v{active['version']} scores ROC AUC {active['roc_auc']}, "
                       f"Brier {active['brier']} on the same hold-out")  # fmt: skip
    return True, (f"activated: ROC AUC {model['roc_auc']} vs baseline {baseline['roc_auc']}, "
                  f"Brier {model['brier']} vs {baseline['brier']}")  # fmt: skip
