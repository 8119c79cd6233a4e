"""The retry model: "will a charge at this moment succeed?", and the scorer slot search uses.

A gradient-boosted classifier with native categorical splits, calibrated (isotonic, 3-fold)
so that its probabilities can be compared across slots and with the confidence floor.
Trained and judged by ``model_training``; the baseline is the prior (``retry_prior``), and
the model's chances are shrunk toward it where its history is thin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.compiled_boosting import calibrated_compiled
from dunning.decisions.learning.model_calls import trusted_input
from dunning.decisions.learning.model_training import (
    TrainingResult,
    TrainingSet,
    model_version_train,
)
from dunning.decisions.learning.retry_data import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    AttemptExamples,
    attempt_examples,
    attempt_history_from_mirror,
)
from dunning.decisions.learning.retry_prior import (
    PRIOR_VERSION_LABEL,
    blend_weight,
    customer_shares,
    prior_probabilities,
)
from dunning.decisions.learning.scoring_threads import single_threaded
from dunning.decisions.learning.slot_features import (
    RetryRows,
    plan_rows,
    slot_reason_text,
    slot_rows,
)
from dunning.models import ModelVersion

MIN_EXAMPLES = 300
MAX_CATEGORIES = 250  # the booster's categorical splits take at most 255 values


def _clean(values: np.ndarray) -> np.ndarray:
    text = values.astype(str)
    return np.where((text == "") | (text == "None"), "none", text)


def _encode(values: np.ndarray, vocabulary: dict[str, int]) -> np.ndarray:
    unique, inverse = np.unique(_clean(values), return_inverse=True)
    codes = np.array([vocabulary.get(u, np.nan) for u in unique.tolist()], dtype=float)
    return codes[inverse]


@dataclass
class RetryModel:
    """The category vocabularies and the calibrated classifier, pickled together.

    Its chances are the classifier's shrunk toward the prior (``retry_prior``): ``learnt``
    is the classifier's weight, which grows with the retries it learnt from, so a thin
    history leans on what is known about when cards recover."""

    vocabularies: dict[str, dict[str, int]]
    classifier: CalibratedClassifierCV
    learnt: float = 1.0

    def matrix(self, rows: RetryRows) -> np.ndarray:
        columns = [_encode(rows.categories[n], self.vocabularies[n]) for n in CATEGORICAL]
        columns += [np.asarray(rows.numbers[n], dtype=float) for n in NUMERIC]
        return np.column_stack(columns)

    def classifier_chances(self, matrix: np.ndarray) -> np.ndarray:
        """The calibrated classifier's chances of ``matrix``'s rows: the compiled form's
        (the same numbers, ~2x faster for a plan's rows, ~8x for one) where it covers it."""
        compiled = calibrated_compiled(self.classifier)
        if compiled is not None:
            return compiled.positive(matrix)
        with trusted_input():
            return self.classifier.predict_proba(matrix)[:, 1]

    def predict_proba(self, rows: RetryRows, *, shares: dict | None = None) -> np.ndarray:
        """``shares``: the customer's payday shares, for the prior's part."""
        chances = self.classifier_chances(self.matrix(rows))
        if self.learnt < 1.0:
            known = prior_probabilities(
                categories=rows.categories, numbers=rows.numbers, shares=shares
            )
            chances = self.learnt * chances + (1.0 - self.learnt) * known
        return np.column_stack([1.0 - chances, chances])


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
    # One booster refitted on all rows, calibrated on the folds' out-of-fold predictions:
    # a decision then runs one booster, not three.
    calibrated = CalibratedClassifierCV(booster, method=method, cv=3, ensemble=False)
    model = RetryModel(vocabularies, calibrated, learnt=blend_weight(len(labels)))
    model.classifier.fit(model.matrix(rows), labels)
    return model


def retry_training_set(examples: AttemptExamples) -> TrainingSet:
    return TrainingSet(
        kind=ModelVersion.Kind.RETRY,
        what="retries after a decline",
        features=FEATURES,
        times=examples.at,
        x=RetryRows(examples.categories, examples.numbers),
        y=examples.succeeded.astype(int),
        fit=retry_model_fit,
        baseline_name="the prior: what is known about when cards recover (no site data)",
        baseline=lambda train, test: prior_probabilities(
            categories={k: v[test] for k, v in examples.categories.items()},
            numbers={k: v[test] for k, v in examples.numbers.items()},
        ),
        min_examples=MIN_EXAMPLES,
        gate="brier",
    )


def retry_model_train(*, on_step: Callable[[str], None] | None = None) -> TrainingResult:
    step = on_step or (lambda name: None)
    step("reading history")
    examples = attempt_examples(attempt_history_from_mirror())
    return model_version_train(retry_training_set(examples), on_step=step)


class RetryModelScorer:
    """``RetryScorer`` over a trained ``RetryModel``: one predict call for all slots."""

    def __init__(self, *, model: RetryModel, version: int | str):
        self.model = model
        learnt = getattr(model, "learnt", 1.0)
        self.version_label = (
            f"retry v{version}"
            if learnt >= 1.0
            else f"retry v{version} (weight {learnt:.2f}, the rest from the {PRIOR_VERSION_LABEL})"
        )

    def slot_probabilities(self, *, context: DecisionContext, slots: list[datetime]) -> list[float]:
        if not slots:
            return []
        rows, _moments = slot_rows(context=context, slots=slots)
        return self._chances(rows, context).tolist()

    def plan_probabilities(
        self, *, context: DecisionContext, slots: list[datetime], budget: int
    ) -> np.ndarray:
        rows = plan_rows(context=context, slots=slots, budget=budget)
        return self._chances(rows, context).reshape(budget, len(slots))

    def _chances(self, rows: RetryRows, context: DecisionContext) -> np.ndarray:
        shares = None if getattr(self.model, "learnt", 1.0) >= 1.0 else customer_shares(context)
        with single_threaded():
            return self.model.predict_proba(rows, shares=shares)[:, 1]

    def slot_reason(self, *, context: DecisionContext, slot: datetime) -> str:
        return slot_reason_text(context=context, slot=slot)
