"""The trained models' chances without scikit-learn's per-call costs, bit for bit the same.

A decision scores one decline with the recovery pipeline (3 calibrated boosters of 150
trees) and a few hundred candidate slots with the retry model (one booster of 120 trees).
scikit-learn spends most of such a call on its input checks and preprocessing
(``ColumnTransformer``, ``OneHotEncoder``/``OrdinalEncoder``, ``check_array`` ~30 times)
and on one Python call per tree. What is compiled here, once per loaded model:

* the encoders: the one-hot and ordinal encodings as lookup tables, taken from the fitted
  encoders themselves (each category, and an unseen one, passed through ``transform``);
* the trees: every tree's nodes stacked into flat arrays. Few rows (the recovery pipeline's
  one, the retry model's single slots) walk all rows x all trees at once in numpy, one step
  per tree level. Many rows (the slot plan) go tree by tree through scikit-learn's own
  compiled traversal (``TreePredictor.predict``), which costs ~20 ns a row and tree against
  numpy's ~100 once the arrays outgrow the per-call overhead;
* each tree's leaf values are added in scikit-learn's order, from the same baseline
  (``_baseline_prediction``), so the raw scores are the same floating-point sums; then the
  same calibrator formula (sigmoid: ``expit(-(a * raw + b))``; isotonic: the clipped
  ``interp1d`` it fitted), averaged over the calibrated boosters as
  ``CalibratedClassifierCV`` does.

Exactness is checked twice: by the tests (randomised rows with missing values and unseen
categories, ``np.array_equal`` against ``predict_proba``), and at compile time on probe
rows built from the model's own categories and thresholds; a model that differs there, or
uses what is not compiled (another scikit-learn version than the one read, multiclass,
another calibration method or pipeline shape), keeps scikit-learn's path (``None`` from the
``*_compiled`` functions).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.calibration import (
    CalibratedClassifierCV,
    _CalibratedClassifier,
    _SigmoidCalibration,
)
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

# The internals read below (node records, bitsets, the booster's own preprocessor, the
# calibrators' fitted attributes) as scikit-learn 1.9 lays them out.
VERIFIED_SKLEARN = "1.9."
# Rows from which a tree at a time through scikit-learn's kernel beats numpy's levels (the
# retry model's 120 trees, one thread: 1 row 0.25 vs 0.38 ms, 16 rows 0.42 vs 0.36, 224
# rows 3.0 vs 0.8, 896 rows 13 vs 2.2).
TREE_BY_TREE_FROM_ROWS = 12
PROBE_ROWS = 48  # checked at compile time on both traversals (one row at a time, all at once)

logger = logging.getLogger("dunwell.decisions")


class NotCompiled(Exception):
    """The model uses something this module does not reproduce exactly."""


def _require(condition: bool, why: str) -> None:
    if not condition:
        raise NotCompiled(why)


@dataclass(frozen=True)
class _OrdinalColumns:
    """The booster's own ``OrdinalEncoder`` step (native categorical features): categorical
    columns first, each value replaced by its category's index, unknown and missing NaN."""

    order: np.ndarray  # input column of each output column
    categories: list[np.ndarray]  # the known (non-missing) categories, sorted


class _Booster:
    """One fitted binary ``HistGradientBoostingClassifier``'s raw score (its
    ``decision_function``)."""

    def __init__(self, booster: HistGradientBoostingClassifier):
        _require(booster.n_trees_per_iteration_ == 1, "not a binary booster")
        self.ordinal = _ordinal_columns(booster)
        self.baseline = booster._baseline_prediction
        self.trees = [predictors[0] for predictors in booster._predictors]
        self.bin_thresholds = booster._bin_mapper.bin_thresholds_
        self.known_cat_bitsets, self.f_idx_map = booster._bin_mapper.make_known_categories_bitsets()
        self._stack(booster.n_features_in_)

    def _stack(self, n_features: int) -> None:
        nodes = [tree.nodes for tree in self.trees]
        sizes = np.array([len(n) for n in nodes])
        offsets = np.r_[0, np.cumsum(sizes)[:-1]]
        every = np.concatenate(nodes)
        local_offset = np.repeat(offsets, sizes)
        leaf = every["is_leaf"].astype(bool)
        own = np.arange(len(every))
        # A leaf's children are itself: every row x tree can take the same number of steps.
        self.left = np.where(leaf, own, every["left"].astype(np.intp) + local_offset)
        self.right = np.where(leaf, own, every["right"].astype(np.intp) + local_offset)
        self.feature = np.where(leaf, 0, every["feature_idx"]).astype(np.intp)
        self.threshold = every["num_threshold"].astype(np.float64)
        self.missing_left = every["missing_go_to_left"].astype(bool)
        self.categorical = every["is_categorical"].astype(bool) & ~leaf
        self.value = every["value"].astype(np.float64)
        self.roots = offsets.astype(np.intp)
        self.depth = int(max(tree.get_max_depth() for tree in self.trees))
        self.n_features = n_features
        self.thresholds = [np.asarray(t, dtype=np.float64) for t in self.bin_thresholds]
        # Bitset rows: each categorical split's own (row ``bitset_idx`` of its tree's
        # ``raw_left_cat_bitsets``), and its feature's known categories; row 0 is empty.
        bitsets = [np.zeros((1, 8), dtype=np.uint32)]
        bitset_offsets = []
        for tree in self.trees:
            bitset_offsets.append(sum(len(b) for b in bitsets))
            bitsets.append(np.asarray(tree.raw_left_cat_bitsets, dtype=np.uint32))
        self.left_bitsets = np.concatenate(bitsets)
        tree_bitset_offset = np.repeat(np.array(bitset_offsets, dtype=np.intp), sizes)
        self.left_bitset_row = np.where(
            self.categorical, every["bitset_idx"].astype(np.intp) + tree_bitset_offset, 0
        )
        self.known_bitsets = np.concatenate(
            [np.zeros((1, 8), dtype=np.uint32), np.asarray(self.known_cat_bitsets, np.uint32)]
        )
        self.known_bitset_row = np.where(self.categorical, self.f_idx_map[self.feature] + 1, 0)

    def encoded(self, x: np.ndarray) -> np.ndarray:
        """``x`` as the trees read it (float64, the booster's preprocessing applied)."""
        x = np.asarray(x, dtype=np.float64)
        if self.ordinal is None:
            return np.ascontiguousarray(x)
        out = np.ascontiguousarray(x[:, self.ordinal.order])
        for column, known in enumerate(self.ordinal.categories):
            values = out[:, column]
            position = np.searchsorted(known, values)
            found = position < len(known)
            found[found] = known[position[found]] == values[found]
            out[:, column] = np.where(found, position, np.nan)
        return out

    def raw(self, x: np.ndarray) -> np.ndarray:
        encoded = self.encoded(x)
        if len(encoded) >= TREE_BY_TREE_FROM_ROWS:
            return self._raw_tree_by_tree(encoded)
        return self._raw_by_levels(encoded)

    def _raw_tree_by_tree(self, encoded: np.ndarray) -> np.ndarray:
        # What ``_raw_predict`` does, minus its checks: the same kernel, the same sums.
        raw = np.zeros((len(encoded), 1), dtype=self.baseline.dtype, order="F")
        raw += self.baseline
        scores = raw[:, 0]
        for tree in self.trees:
            scores += tree.predict(encoded, self.known_cat_bitsets, self.f_idx_map, 1)
        return scores

    def _raw_by_levels(self, encoded: np.ndarray) -> np.ndarray:
        n_rows, n_trees = len(encoded), len(self.trees)
        node = np.tile(self.roots, n_rows)
        row_start = np.repeat(np.arange(n_rows, dtype=np.intp) * self.n_features, n_trees)
        flat = encoded.ravel()
        for _level in range(self.depth):
            value = flat[row_start + self.feature[node]]
            left = self._goes_left(node, value)
            node = np.where(left, self.left[node], self.right[node])
        leaf_values = self.value[node].reshape(n_rows, n_trees)
        # Tree by tree from the baseline, as ``_raw_predict`` adds them (not pairwise).
        scores = np.zeros(n_rows, dtype=self.baseline.dtype) + self.baseline[0, 0]
        for tree in range(n_trees):
            scores += leaf_values[:, tree]
        return scores

    def _goes_left(self, node: np.ndarray, value: np.ndarray) -> np.ndarray:
        """``_predict_one_from_raw_data``'s branch for each (row, tree) at ``node``."""
        missing = np.isnan(value)
        left = np.where(missing, self.missing_left[node], value <= self.threshold[node])
        categorical = np.flatnonzero(self.categorical[node] & ~missing)
        if len(categorical):
            at, seen = node[categorical], value[categorical]
            # The encoded categories are 0..254 (at most ``max_bins`` of them), which the
            # kernel's cast to uint8 keeps as they are; below 0 counts as missing there.
            negative = seen < 0
            code = np.where(negative, 0, seen).astype(np.intp)
            word, bit = code >> 5, (code & 31).astype(np.uint32)
            in_left = (self.left_bitsets[self.left_bitset_row[at], word] >> bit) & 1
            known = (self.known_bitsets[self.known_bitset_row[at], word] >> bit) & 1
            unknown_side = self.missing_left[at]
            left[categorical] = np.where(
                negative, unknown_side, np.where(in_left == 1, True, (known == 0) & unknown_side)
            )
        return left


def _ordinal_columns(booster: HistGradientBoostingClassifier) -> _OrdinalColumns | None:
    preprocessor = booster._preprocessor
    if preprocessor is None:
        return None
    _require(isinstance(preprocessor, ColumnTransformer), "unknown booster preprocessing")
    encoder = preprocessor.named_transformers_["encoder"]
    _require(isinstance(encoder, OrdinalEncoder), "unknown categorical encoding")
    _require(
        np.isnan(encoder.unknown_value) and np.isnan(encoder.encoded_missing_value),
        "unknown and missing categories not encoded as NaN",
    )
    categorical = np.asarray(booster.is_categorical_, dtype=bool)
    n_categorical = int(categorical.sum())
    slices = preprocessor.output_indices_
    _require(
        slices["encoder"] == slice(0, n_categorical)
        and slices["numerical"] == slice(n_categorical, len(categorical)),
        "categorical columns not first",
    )
    known = []
    for categories in encoder.categories_:
        values = np.asarray(categories, dtype=np.float64)
        present = values[~np.isnan(values)]
        _require(bool(np.all(present[:-1] < present[1:])), "categories not sorted")
        known.append(present)
    order = np.r_[np.flatnonzero(categorical), np.flatnonzero(~categorical)]
    return _OrdinalColumns(order=order.astype(np.intp), categories=known)


class _Compiled(Protocol):
    def positive(self, x: np.ndarray) -> np.ndarray: ...


class _Calibrated:
    """One ``_CalibratedClassifier``: its booster's raw score through its calibrator."""

    def __init__(self, calibrated: _CalibratedClassifier):
        _require(len(calibrated.calibrators) == 1, "not binary")
        _require(isinstance(calibrated.estimator, HistGradientBoostingClassifier), "not a booster")
        self.booster = _Booster(calibrated.estimator)
        self.calibrator = calibrated.calibrators[0]
        _require(
            isinstance(self.calibrator, _SigmoidCalibration | IsotonicRegression),
            "another calibration method",
        )
        if isinstance(self.calibrator, IsotonicRegression):
            _require(self.calibrator.out_of_bounds == "clip", "isotonic without clipping")

    def _calibrated(self, raw: np.ndarray) -> np.ndarray:
        calibrator = self.calibrator
        if isinstance(calibrator, _SigmoidCalibration):
            return expit(-(calibrator.a_ * raw + calibrator.b_))
        raw = raw.astype(calibrator.X_thresholds_.dtype, copy=False)
        clipped = np.clip(raw, calibrator.X_min_, calibrator.X_max_)
        return calibrator.f_(clipped).astype(clipped.dtype)

    def positive(self, x: np.ndarray) -> np.ndarray:
        chances = self._calibrated(self.booster.raw(x))
        # As ``_CalibratedClassifier.predict_proba`` rounds a chance a hair above 1.
        chances[(chances > 1.0) & (chances <= 1.0 + 1e-5)] = 1.0
        return chances


class CompiledCalibrated:
    """A fitted binary ``CalibratedClassifierCV`` over ``HistGradientBoostingClassifier``s:
    ``positive(x)`` is ``predict_proba(x)[:, 1]``."""

    def __init__(self, classifier: CalibratedClassifierCV):
        _require(sklearn.__version__.startswith(VERIFIED_SKLEARN), "another scikit-learn")
        _require(isinstance(classifier, CalibratedClassifierCV), "not a calibrated booster")
        _require(len(classifier.classes_) == 2, "not binary")
        self.parts = [_Calibrated(part) for part in classifier.calibrated_classifiers_]

    def positive(self, x: np.ndarray) -> np.ndarray:
        # Summed from zeros in order and divided once, as ``predict_proba`` averages them.
        total = np.zeros(len(x))
        for part in self.parts:
            total += part.positive(x)
        total /= len(self.parts)
        return total


class CompiledRecoveryPipeline:
    """The recovery pipeline (one-hot categories + passed-through numbers, then a
    ``CalibratedClassifierCV``): ``positive(rows)`` is ``predict_proba(rows)[:, 1]`` for
    object rows as ``recovery_data`` builds them."""

    def __init__(self, pipeline: Pipeline):
        _require(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2, "not a pipeline")
        encode, model = pipeline.steps[0][1], pipeline.steps[1][1]
        _require(isinstance(encode, ColumnTransformer), "unknown pipeline shape")
        _require(isinstance(model, CalibratedClassifierCV), "unknown pipeline shape")
        names = [name for name, _t, _c in encode.transformers_]
        _require(names == ["categories", "numbers"], "unknown column layout")
        encoder = encode.named_transformers_["categories"]
        _require(isinstance(encoder, OneHotEncoder), "unknown categorical encoding")
        numbers = encode.named_transformers_["numbers"]
        # A fitted ColumnTransformer keeps "passthrough" as an identity FunctionTransformer.
        _require(
            numbers == "passthrough"
            or (isinstance(numbers, FunctionTransformer) and numbers.func is None),
            "numbers transformed",
        )
        _require(encoder.drop is None and encoder.handle_unknown == "ignore", "unknown drop")
        self.encode = encode
        self.categorical = [int(c) for c in encode.transformers_[0][2]]
        self.numeric = [int(c) for c in encode.transformers_[1][2]]
        self.n_one_hot = int(sum(encoder._n_features_outs))
        self.one_hot = self._one_hot_columns(encoder)
        self.model = CompiledCalibrated(model)

    def _one_hot_columns(self, encoder: OneHotEncoder) -> list[dict[object, int]]:
        """For each categorical column, the output column each known category lights
        (read from ``transform``, so infrequent categories share theirs); an unseen one
        lights none (``handle_unknown="ignore"``), checked on a sentinel."""
        block_starts = np.r_[0, np.cumsum(encoder._n_features_outs)[:-1]]
        tables = []
        for column, categories in enumerate(encoder.categories_):
            _require(all(isinstance(c, str) for c in categories), "non-text categories")
            probe = np.array(
                [
                    [cats[min(i, len(cats) - 1)] for cats in encoder.categories_]
                    for i in range(len(categories))
                ],
                dtype=object,
            )
            probe[:, column] = categories
            lit = encoder.transform(probe)
            start, width = block_starts[column], encoder._n_features_outs[column]
            block = lit[:, start : start + width]
            _require(bool(np.all(block.sum(axis=1) == 1)), "a category lights no column")
            tables.append(
                {c: int(start + np.argmax(row)) for c, row in zip(categories, block, strict=True)}
            )
        unseen = np.array([["\x00unseen"] * len(encoder.categories_)], dtype=object)
        _require(not encoder.transform(unseen).any(), "unseen categories light a column")
        return tables

    def probe_rows(self, rows: int) -> np.ndarray:
        """Object rows as ``recovery_data`` builds them: known categories and unseen ones,
        numbers on and around the first booster's split points."""
        rng = np.random.default_rng(0)
        numbers = _probe_columns(self.model.parts[0].booster, rng, rows)[:, self.n_one_hot :]
        probe = np.empty((rows, len(self.categorical) + len(self.numeric)), dtype=object)
        for column, table in zip(self.categorical, self.one_hot, strict=True):
            probe[:, column] = rng.choice(np.array([*table, "\x00unseen"], dtype=object), rows)
        for position, column in enumerate(self.numeric):
            probe[:, column] = numbers[:, position].tolist()
        return probe

    def encoded(self, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(rows), self.n_one_hot + len(self.numeric)))
        for column, table in zip(self.categorical, self.one_hot, strict=True):
            for i, value in enumerate(rows[:, column].tolist()):
                lit = table.get(value)
                if lit is not None:
                    out[i, lit] = 1.0
        out[:, self.n_one_hot :] = np.asarray(rows[:, self.numeric], dtype=np.float64)
        return out

    def positive(self, rows: np.ndarray) -> np.ndarray:
        return self.model.positive(self.encoded(rows))


def _probe_columns(booster: _Booster, rng: np.random.Generator, rows: int) -> np.ndarray:
    """Rows in the booster's input space on and around its split points: each known
    category, an unseen one and NaN for a categorical column; each bin threshold, a hair
    either side of it and NaN for a numeric one."""
    n_features = booster.n_features
    ordinal = booster.ordinal
    order = ordinal.order if ordinal is not None else np.arange(n_features)
    n_categorical = len(ordinal.categories) if ordinal is not None else 0
    probe = np.empty((rows, n_features))
    for output, column in enumerate(order.tolist()):
        if output < n_categorical:
            known = ordinal.categories[output] if ordinal is not None else np.empty(0)
            unseen = (known.max() + 1) if len(known) else 0.0
            values = np.r_[known, unseen, np.nan]
        else:
            thresholds = booster.thresholds[output]
            values = np.r_[
                thresholds,
                np.nextafter(thresholds, np.inf),
                np.nextafter(thresholds, -np.inf),
                np.nan,
                0.0,
            ]
        probe[:, column] = rng.choice(values, size=rows)
    return probe


def _verified(
    compiled: _Compiled, predict_proba: Callable[[np.ndarray], np.ndarray], probe: np.ndarray
) -> None:
    expected = predict_proba(probe)[:, 1]
    together = compiled.positive(probe)
    alone = np.concatenate([compiled.positive(probe[i : i + 1]) for i in range(len(probe))])
    _require(
        np.array_equal(together, expected) and np.array_equal(alone, expected),
        "differs from predict_proba on the probe rows",
    )


# Keyed by the fitted model: a reloaded version compiles anew, a dropped one frees its arrays.
_calibrated: weakref.WeakKeyDictionary[object, CompiledCalibrated | None]
_calibrated = weakref.WeakKeyDictionary()
_pipelines: weakref.WeakKeyDictionary[object, CompiledRecoveryPipeline | None]
_pipelines = weakref.WeakKeyDictionary()


def calibrated_compiled(classifier: CalibratedClassifierCV) -> CompiledCalibrated | None:
    """The compiled form of ``classifier`` (built and verified on first use, then kept as
    long as the classifier), or None: scikit-learn's own path is to be used."""
    if classifier not in _calibrated:
        compiled: CompiledCalibrated | None
        try:
            compiled = CompiledCalibrated(classifier)
            booster = compiled.parts[0].booster
            rng = np.random.default_rng(0)
            _verified(compiled, classifier.predict_proba, _probe_columns(booster, rng, PROBE_ROWS))
        except NotCompiled as why:
            logger.info("retry model kept on scikit-learn's path: %s", why)
            compiled = None
        _calibrated[classifier] = compiled
    return _calibrated[classifier]


def recovery_pipeline_compiled(pipeline: Pipeline) -> CompiledRecoveryPipeline | None:
    """As ``calibrated_compiled``, for the recovery pipeline."""
    if pipeline not in _pipelines:
        compiled: CompiledRecoveryPipeline | None
        try:
            compiled = CompiledRecoveryPipeline(pipeline)
            _verified(compiled, pipeline.predict_proba, compiled.probe_rows(PROBE_ROWS))
        except NotCompiled as why:
            logger.info("recovery model kept on scikit-learn's path: %s", why)
            compiled = None
        _pipelines[pipeline] = compiled
    return _pipelines[pipeline]
