"""The active models, loaded once per process and reloaded when another version activates."""

from __future__ import annotations

import pickle
import threading
import time

import numpy as np
from sklearn.pipeline import Pipeline

from dunning.decisions.learning.compiled_boosting import (
    calibrated_compiled,
    recovery_pipeline_compiled,
)
from dunning.decisions.learning.model_calls import trusted_input
from dunning.decisions.learning.recovery_data import FEATURES
from dunning.decisions.learning.retry_model import RetryModel, RetryModelScorer
from dunning.decisions.learning.scoring_threads import single_threaded
from dunning.decisions.plan import Scorers
from dunning.models import ModelVersion

RECHECK_SECONDS = 30.0

_lock = threading.Lock()
_cache: dict[str, tuple[int, object]] = {}  # kind -> (version id, loaded model)
_checked_at = 0.0


def _load(kind: str):
    row = (
        ModelVersion.objects.filter(kind=kind, active=True)
        .values_list("pk", "version", flat=False)
        .first()
    )
    if row is None:
        _cache.pop(kind, None)
        return None
    pk, version = row
    cached = _cache.get(kind)
    if cached is None or cached[0] != pk:
        artifact = ModelVersion.objects.values_list("artifact", flat=True).get(pk=pk)
        model = pickle.loads(artifact)  # noqa: S301 - written only by our own training
        _compile(kind, model)
        _cache[kind] = (pk, (version, model))
    return _cache[kind][1]


def _compile(kind: str, model: object) -> None:
    """Build the model's compiled form now, once per loaded version, not in a decision."""
    if kind == ModelVersion.Kind.RECOVERY and isinstance(model, Pipeline):
        recovery_pipeline_compiled(model)
    elif isinstance(model, RetryModel):
        calibrated_compiled(model.classifier)


def recovery_scorer(version_and_model) -> tuple:
    version, pipeline = version_and_model
    compiled = recovery_pipeline_compiled(pipeline) if isinstance(pipeline, Pipeline) else None

    def score(features: dict) -> float:
        row = np.array([[features[name] for name in FEATURES]], dtype=object)
        if compiled is not None:  # the same chance, without ~30 input checks and 450 calls
            return float(compiled.positive(row)[0])
        with single_threaded(), trusted_input():
            return float(pipeline.predict_proba(row)[0, 1])

    return score, f"recovery v{version}"


def active_scorers(*, refresh: bool = False) -> Scorers:
    """Scorers for the active model versions (a cold start has none and says so)."""
    global _checked_at
    with _lock:
        if refresh or time.monotonic() - _checked_at > RECHECK_SECONDS or not _cache:
            for kind in (ModelVersion.Kind.RECOVERY, ModelVersion.Kind.RETRY):
                _load(kind)
            _checked_at = time.monotonic()
        recovery = _cache.get(ModelVersion.Kind.RECOVERY)
        retry = _cache.get(ModelVersion.Kind.RETRY)
    score, label = recovery_scorer(recovery[1]) if recovery else (None, "")
    retry_scorer = None
    if retry is not None:
        version, model = retry[1]
        retry_scorer = RetryModelScorer(model=model, version=version)
    return Scorers(recovery=score, recovery_label=label, retry=retry_scorer)


def scorers_warm() -> list[str]:
    """Load the active models now (a worker before its first job); returns their labels."""
    scorers = active_scorers(refresh=True)
    return [label for label in (scorers.recovery_label, scorers.retry_label) if label]


def scorers_forget() -> None:
    """Drop loaded models (tests; after training in this process)."""
    global _checked_at
    with _lock:
        _cache.clear()
        _checked_at = 0.0
