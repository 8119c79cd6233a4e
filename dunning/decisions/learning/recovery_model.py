"""The recovery model: "will this failed invoice be recovered at all?".

Trained and judged by ``model_training`` (time-based hold-out, activated only when better).
The baseline is the fixed rule a dunning team would use without a model: the historical
recovery rate of the decline code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from dunning.decisions.learning.model_training import (
    ColdStart,
    TrainingResult,
    TrainingSet,
    calibration_table,
    model_version_train,
)
from dunning.decisions.learning.recovery_data import (
    CATEGORICAL,
    FEATURES,
    Example,
    recovery_examples,
)
from dunning.models import ModelVersion

MIN_EXAMPLES = 200

__all__ = [
    "MIN_EXAMPLES",
    "ColdStart",
    "TrainingResult",
    "calibration_table",
    "recovery_model_train",
    "recovery_training_set",
]


def _matrix(examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.array([[e.features[name] for name in FEATURES] for e in examples], dtype=object)
    labels = np.array([1 if e.recovered else 0 for e in examples])
    return rows, labels


def build_pipeline(size: int) -> Pipeline:
    categorical = list(range(len(CATEGORICAL)))
    numeric = list(range(len(CATEGORICAL), len(FEATURES)))
    encode = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
                categorical,
            ),
            ("numbers", "passthrough", numeric),
        ]
    )
    booster = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, random_state=0
    )
    method = "isotonic" if size >= 1000 else "sigmoid"
    return Pipeline(
        [("encode", encode), ("model", CalibratedClassifierCV(booster, method=method, cv=3))]
    )


def decline_rate_baseline(codes: np.ndarray, labels: np.ndarray, train: slice, test: slice):
    """The smoothed historical recovery rate of each decline code."""
    outcomes: dict[str, list[int]] = defaultdict(list)
    for code, label in zip(codes[train].tolist(), labels[train].tolist(), strict=True):
        outcomes[code].append(label)
    overall = float(labels[train].mean())
    rates = {code: (sum(v) + overall * 5) / (len(v) + 5) for code, v in outcomes.items()}
    return np.array([rates.get(code, overall) for code in codes[test].tolist()])


def recovery_training_set(examples: list[Example]) -> TrainingSet:
    labelled = [e for e in examples if e.recovered is not None]
    x, y = _matrix(labelled)
    codes = np.array([e.features["decline_code"] for e in labelled], dtype=object)
    return TrainingSet(
        kind=ModelVersion.Kind.RECOVERY,
        what="failed invoices with a known outcome",
        features=FEATURES,
        times=np.array([e.failed_at.timestamp() for e in labelled], dtype=np.int64),
        x=x,
        y=y,
        fit=lambda x_train, y_train: build_pipeline(len(y_train)).fit(x_train, y_train),
        baseline_name="recovery rate of the decline code",
        baseline=lambda train, test: decline_rate_baseline(codes, y, train, test),
        min_examples=MIN_EXAMPLES,
    )


def recovery_model_train(*, on_step: Callable[[str], None] | None = None) -> TrainingResult:
    step = on_step or (lambda name: None)
    step("reading history")
    return model_version_train(recovery_training_set(recovery_examples()), on_step=step)
