"""The retry model: "will a charge at this moment succeed?", and the scorer slot search uses.

A gradient-boosted classifier with native categorical splits, calibrated (isotonic, 3-fold)
so that its probabilities can be compared across slots and with the confidence floor.
Trained and judged by ``model_training``; the baseline is what a fixed schedule knows: the
historical success rate of the n-th retry for the decline code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from dunning.decisions.context import DecisionContext
from dunning.decisions.model_training import TrainingResult, TrainingSet, model_version_train
from dunning.decisions.retry_data import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    AttemptExamples,
    attempt_examples,
    attempt_history_from_mirror,
    moment_features,
)
from dunning.models import ModelVersion

MIN_EXAMPLES = 300
MAX_CATEGORIES = 250  # the booster's categorical splits take at most 255 values


@dataclass(frozen=True)
class RetryRows:
    """Model input as columns: what ``RetryModel`` reads, sliceable by rows."""

    categories: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]

    def __getitem__(self, rows) -> RetryRows:
        return RetryRows(
            {k: v[rows] for k, v in self.categories.items()},
            {k: v[rows] for k, v in self.numbers.items()},
        )

    def __len__(self) -> int:
        return len(next(iter(self.numbers.values())))


def _clean(values: np.ndarray) -> np.ndarray:
    text = values.astype(str)
    return np.where((text == "") | (text == "None"), "none", text)


def _encode(values: np.ndarray, vocabulary: dict[str, int]) -> np.ndarray:
    unique, inverse = np.unique(_clean(values), return_inverse=True)
    codes = np.array([vocabulary.get(u, np.nan) for u in unique.tolist()], dtype=float)
    return codes[inverse]


@dataclass
class RetryModel:
    """The category vocabularies and the calibrated classifier, pickled together."""

    vocabularies: dict[str, dict[str, int]]
    classifier: CalibratedClassifierCV

    def matrix(self, rows: RetryRows) -> np.ndarray:
        columns = [_encode(rows.categories[n], self.vocabularies[n]) for n in CATEGORICAL]
        columns += [np.asarray(rows.numbers[n], dtype=float) for n in NUMERIC]
        return np.column_stack(columns)

    def predict_proba(self, rows: RetryRows) -> np.ndarray:
        return self.classifier.predict_proba(self.matrix(rows))


def _vocabulary(values: np.ndarray) -> dict[str, int]:
    unique, counts = np.unique(_clean(values), return_counts=True)
    common = unique[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]
    return {value: code for code, value in enumerate(common.tolist())}


def retry_model_fit(rows: RetryRows, labels: np.ndarray) -> RetryModel:
    vocabularies = {n: _vocabulary(rows.categories[n]) for n in CATEGORICAL}
    booster = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.15,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=[n in CATEGORICAL for n in FEATURES],
        early_stopping=False,
        random_state=0,
    )
    method = "isotonic" if len(labels) >= 2000 else "sigmoid"
    model = RetryModel(vocabularies, CalibratedClassifierCV(booster, method=method, cv=3))
    model.classifier.fit(model.matrix(rows), labels)
    return model


def schedule_rate_baseline(examples: AttemptExamples, train: slice, test: slice) -> np.ndarray:
    """The smoothed success rate of the n-th retry for each decline code (what a fixed
    schedule's history says), falling back to the n-th retry's rate over all codes."""
    codes = _clean(examples.categories["decline_code"])
    number = np.minimum(examples.attempt_number, 12)
    labels = examples.succeeded.astype(float)
    keys = np.char.add(np.char.add(codes, "#"), number.astype(str))
    overall = labels[train].mean()
    by_number = {
        n: (labels[train][number[train] == n].sum() + overall * 5)
        / ((number[train] == n).sum() + 5)
        for n in np.unique(number).tolist()
    }
    unique, inverse = np.unique(keys[train], return_inverse=True)
    sums = np.bincount(inverse, weights=labels[train], minlength=len(unique))
    counts = np.bincount(inverse, minlength=len(unique))
    prior = np.array([by_number[int(k.rsplit("#", 1)[1])] for k in unique.tolist()])
    rates = dict(zip(unique.tolist(), ((sums + prior * 5) / (counts + 5)).tolist(), strict=True))
    return np.array(
        [
            rates.get(k, by_number[n])
            for k, n in zip(keys[test].tolist(), number[test].tolist(), strict=True)
        ]
    )


def retry_training_set(examples: AttemptExamples) -> TrainingSet:
    return TrainingSet(
        kind=ModelVersion.Kind.RETRY,
        what="retries after a decline",
        features=FEATURES,
        times=examples.at,
        x=RetryRows(examples.categories, examples.numbers),
        y=examples.succeeded.astype(int),
        fit=retry_model_fit,
        baseline_name="success rate of the n-th retry for the decline code (fixed schedule)",
        baseline=lambda train, test: schedule_rate_baseline(examples, train, test),
        min_examples=MIN_EXAMPLES,
    )


def retry_model_train(*, on_step: Callable[[str], None] | None = None) -> TrainingResult:
    step = on_step or (lambda name: None)
    step("reading history")
    examples = attempt_examples(attempt_history_from_mirror())
    return model_version_train(retry_training_set(examples), on_step=step)


# --- scoring slots --------------------------------------------------------------------------
def _first_decline(context: DecisionContext) -> dict:
    known = context.recovery_features
    decline = context.decline
    return {
        "decline_code": known.get("decline_code") or (decline.decline_code if decline else ""),
        "error_category": known.get("error_category")
        or (decline.error_category if decline else ""),
        "advice_code": known.get("advice_code") or (decline.advice_code if decline else ""),
        "brand": known.get("brand") or (decline.brand if decline else ""),
        "funding": known.get("funding", ""),
        "gateway": known.get("gateway") or context.gateway,
        "country": known.get("country") or context.country,
    }


def slot_rows(*, context: DecisionContext, slots: list[datetime]) -> tuple[RetryRows, dict]:
    """The model's input for charging at each of ``slots``, from what ``context`` knows."""
    n = len(slots)
    failed = context.first_failed_at or context.at
    at = np.array([s.timestamp() for s in slots], dtype=np.int64)
    moments = moment_features(
        failed_at=np.full(n, int(failed.timestamp()), dtype=np.int64),
        at=at,
        zones=np.full(n, context.time_zone, dtype=object),
    )
    known = context.recovery_features
    constant = {
        "attempts_so_far": float(max(context.invoice_failures, 1)),
        "card_changed": float(context.card_changed_since_failure),
        "log_amount": known.get("log_amount", math.log1p(max(context.amount_due, 0) / 100)),
        "tenure_days": known.get("tenure_days", float(context.tenure_days)),
        "prior_failures_365d": known.get("prior_failures_365d", 0.0),
    }
    numbers = {k: np.asarray(v, dtype=float) for k, v in moments.items()}
    numbers.update({k: np.full(n, float(v)) for k, v in constant.items()})
    categories = {
        k: np.full(n, v or "none", dtype=object) for k, v in _first_decline(context).items()
    }
    return RetryRows(categories, numbers), moments


PAYDAY_MARKS = [
    ("crossed_first", "the 1st"),
    ("crossed_15th", "the 15th"),
    ("crossed_last_business_day", "the last business day"),
    ("crossed_25th", "the 25th"),
]


class RetryModelScorer:
    """``RetryScorer`` over a trained ``RetryModel``: one predict call for all slots."""

    def __init__(self, *, model: RetryModel, version: int | str):
        self.model = model
        self.version_label = f"retry v{version}"

    def slot_probabilities(self, *, context: DecisionContext, slots: list[datetime]) -> list[float]:
        if not slots:
            return []
        rows, _moments = slot_rows(context=context, slots=slots)
        return self.model.predict_proba(rows)[:, 1].tolist()

    def slot_reason(self, *, context: DecisionContext, slot: datetime) -> str:
        """Which likely paydays the slot comes after, and how long after the decline.

        (The slot's local time is already in the decision's sentence.)
        """
        _rows, m = slot_rows(context=context, slots=[slot])
        parts = [name for key, name in PAYDAY_MARKS if m[key][0]]
        fridays = int(m["fridays_crossed"][0])
        if fridays:
            parts.append("a Friday" if fridays == 1 else f"{fridays} Fridays")
        hours = float(m["hours_since_failure"][0])
        since = f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
        paydays = f"after {' and '.join(parts[:2])}, " if parts else ""
        return f"{paydays}{since} after the decline"
