"""The compiled models give scikit-learn's chances bit for bit, on the rows a decision sends
and on rows nobody would send (missing values, unseen categories, split points exactly)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from bench.synthetic_models import recovery_pipeline_synthetic, retry_model_synthetic
from dunning.decisions.learning.compiled_boosting import (
    TREE_BY_TREE_FROM_ROWS,
    calibrated_compiled,
    recovery_pipeline_compiled,
)
from dunning.decisions.learning.recovery_data import CATEGORICAL as RECOVERY_CATEGORICAL
from dunning.decisions.learning.recovery_data import NUMERIC as RECOVERY_NUMERIC
from dunning.decisions.learning.retry_data import CATEGORICAL, NUMERIC
from dunning.decisions.learning.retry_model import RetryModel
from dunning.decisions.learning.scoring import recovery_scorer
from dunning.decisions.learning.slot_features import RetryRows

# Both traversals: numpy's levels below TREE_BY_TREE_FROM_ROWS rows, tree by tree above.
ROW_COUNTS = [1, 2, 7, TREE_BY_TREE_FROM_ROWS - 1, TREE_BY_TREE_FROM_ROWS, 600]


# Enough history for isotonic calibration, and too little (sigmoid).
@pytest.fixture(scope="module", params=[(6_000, "isotonic"), (1_200, "sigmoid")], ids=str)
def retry_model(request) -> RetryModel:
    attempts, method = request.param
    model = retry_model_synthetic(attempts, seed=1)
    assert model.classifier.method == method
    return model


@pytest.fixture(scope="module", params=[(2_500, "isotonic"), (500, "sigmoid")], ids=str)
def recovery_pipeline(request):
    rows, method = request.param
    pipeline = recovery_pipeline_synthetic(rows, seed=1)
    assert pipeline[-1].method == method
    return pipeline


def random_retry_rows(model: RetryModel, n: int, rng: np.random.Generator) -> RetryRows:
    """Known categories, unseen ones and the empty values ``_clean`` maps to "none";
    numbers spread wide, some NaN, some exactly on a split point of the booster."""
    categories = {}
    for name in CATEGORICAL:
        known = list(model.vocabularies[name])
        pool = np.array([*known, "never seen", "", None, "none"], dtype=object)
        categories[name] = rng.choice(pool, size=n)
    booster = model.classifier.calibrated_classifiers_[0].estimator
    thresholds = booster._bin_mapper.bin_thresholds_
    numbers = {}
    for position, name in enumerate(NUMERIC, start=len(CATEGORICAL)):
        values = rng.normal(0, 1, n) * 10 ** rng.integers(0, 4, n)
        on_split = rng.random(n) < 0.3
        if len(thresholds[position]):  # a column constant in the history has none
            values[on_split] = rng.choice(thresholds[position], size=int(on_split.sum()))
        values[rng.random(n) < 0.1] = np.nan
        numbers[name] = values
    return RetryRows(categories, numbers)


def test_retry_chances_are_scikit_learns_bit_for_bit(retry_model):
    compiled = calibrated_compiled(retry_model.classifier)
    assert compiled is not None
    rng = np.random.default_rng(7)
    for n in ROW_COUNTS:
        matrix = retry_model.matrix(random_retry_rows(retry_model, n, rng))
        assert np.isnan(matrix).any() or n < 7

        expected = retry_model.classifier.predict_proba(matrix)[:, 1]

        assert np.array_equal(compiled.positive(matrix), expected), n
        assert np.array_equal(retry_model.classifier_chances(matrix), expected), n


def test_the_booster_reads_categories_as_its_own_encoder_does(retry_model):
    compiled = calibrated_compiled(retry_model.classifier)
    booster = retry_model.classifier.calibrated_classifiers_[0].estimator
    matrix = retry_model.matrix(random_retry_rows(retry_model, 300, np.random.default_rng(3)))

    encoded = compiled.parts[0].booster.encoded(matrix)

    assert np.array_equal(encoded, booster._preprocessor.transform(matrix), equal_nan=True)


def random_recovery_rows(pipeline, n: int, rng: np.random.Generator) -> np.ndarray:
    encoder = pipeline[0].named_transformers_["categories"]
    columns = [
        rng.choice(np.array([*known, "never seen", "none"], dtype=object), size=n)
        for known in encoder.categories_
    ]
    assert len(columns) == len(RECOVERY_CATEGORICAL)
    for _name in RECOVERY_NUMERIC:
        values = rng.normal(0, 1, n) * 10 ** rng.integers(0, 4, n)
        values[rng.random(n) < 0.1] = np.nan
        columns.append(values.astype(object))
    return np.column_stack(columns)


def test_recovery_chances_are_scikit_learns_bit_for_bit(recovery_pipeline):
    compiled = recovery_pipeline_compiled(recovery_pipeline)
    assert compiled is not None
    rng = np.random.default_rng(11)
    for n in ROW_COUNTS:
        rows = random_recovery_rows(recovery_pipeline, n, rng)

        expected = recovery_pipeline.predict_proba(rows)[:, 1]

        assert np.array_equal(compiled.positive(rows), expected), n


def test_the_recovery_scorer_gives_the_pipelines_chance(recovery_pipeline):
    score, label = recovery_scorer((3, recovery_pipeline))
    rows = random_recovery_rows(recovery_pipeline, 40, np.random.default_rng(5))
    names = RECOVERY_CATEGORICAL + RECOVERY_NUMERIC

    for row in rows:
        features = dict(zip(names, row.tolist(), strict=True))
        expected = recovery_pipeline.predict_proba(row[np.newaxis, :])[0, 1]
        assert score(features) == expected
    assert label == "recovery v3"


def test_a_model_it_cannot_reproduce_keeps_scikit_learns_path():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    logistic = CalibratedClassifierCV(LogisticRegression(), cv=3).fit(x, y)

    assert calibrated_compiled(logistic) is None
    model = RetryModel(vocabularies={}, classifier=logistic)
    assert np.array_equal(model.classifier_chances(x), logistic.predict_proba(x)[:, 1])
