"""Model-call benchmark: what one decision pays for each trained model, in process.

The retry and recovery models are fitted on synthetic history as the worker bench does
(``models_activate_synthetic``: 50,000 attempts, 5,000 first declines, both calibrated
isotonic), then each call a decision makes is timed --calls times after a warm-up, on one
thread as a worker runs:

  recovery          the recovery scorer on one decline (``recovery_scorer``), as the policy
                    calls it once per decision;
  retry, 1 slot     the retry scorer's chance for one slot (``slot_probabilities``), as the
                    policy asks for the chosen slot and the guardrails;
  retry, plan       the chances of every candidate slot for each retry left
                    (``plan_probabilities``: 4 x 224 rows, one call), as the slot search asks.

Each row also shows the model call alone on the matrix built beforehand: scikit-learn's
``predict_proba`` and the compiled form the scorers use (``compiled_boosting``, the same
numbers). No database needed.

    .venv/bin/python -m bench.models [--calls 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DUNWELL_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.synthetic_models import (  # noqa: E402
    a_decline,
    recovery_pipeline_synthetic,
    retry_model_synthetic,
)
from dunning.decisions.learning.compiled_boosting import (  # noqa: E402
    calibrated_compiled,
    recovery_pipeline_compiled,
)
from dunning.decisions.learning.recovery_data import FEATURES, failure_features_of  # noqa: E402
from dunning.decisions.learning.retry_model import RetryModelScorer  # noqa: E402
from dunning.decisions.learning.scoring import recovery_scorer  # noqa: E402
from dunning.decisions.learning.slot_features import plan_rows  # noqa: E402
from dunning.decisions.timing.retry_timing import candidate_slots  # noqa: E402

WARM_UP = 20
BUDGET = 4  # retries left on a fresh decline


def timed(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """p50 and p99 of ``call`` in milliseconds, after a warm-up."""
    for _ in range(WARM_UP):
        call()
    took = []
    for _ in range(calls):
        clock = time.perf_counter()
        call()
        took.append(time.perf_counter() - clock)
    took.sort()
    return statistics.median(took) * 1000, took[max(0, int(len(took) * 0.99) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    with threadpool_limits(limits=1):
        retry = retry_model_synthetic(50_000)
        pipeline = recovery_pipeline_synthetic(5_000)
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    features = failure_features_of(
        at=at,
        decline_code="51",
        error_category="soft_decline",
        advice_code="",
        gateway="stripe",
        currency="USD",
        amount=4_900,
        brand="visa",
        funding="debit",
        card_expiry=(2030, 12),
        country="US",
        customer_since=at - timedelta(days=400),
        period_unit="month",
        prior_failures=0,
    )
    context = replace(a_decline(at), recovery_features=features)
    score, _label = recovery_scorer((1, pipeline))
    scorer = RetryModelScorer(model=retry, version="bench")
    slots = candidate_slots(earliest=at + timedelta(hours=1), window_end=at + timedelta(days=28))
    plan = plan_rows(context=context, slots=slots, budget=BUDGET)
    plan_matrix = retry.matrix(plan)
    recovery_row = np.array([[features[name] for name in FEATURES]], dtype=object)

    recovery_compiled = recovery_pipeline_compiled(pipeline)
    retry_compiled = calibrated_compiled(retry.classifier)
    assert recovery_compiled and retry_compiled, "both synthetic models are compiled"
    rows: list[tuple[str, Callable[[], object], Callable[[], object], Callable[[], object]]] = [
        (
            "recovery, 1 decline",
            lambda: score(features),
            lambda: pipeline.predict_proba(recovery_row),
            lambda: recovery_compiled.positive(recovery_row),
        ),
        (
            "retry, 1 slot",
            lambda: scorer.slot_probabilities(context=context, slots=slots[:1]),
            lambda: retry.classifier.predict_proba(plan_matrix[:1]),
            lambda: retry_compiled.positive(plan_matrix[:1]),
        ),
        (
            f"retry, plan ({BUDGET} x {len(slots)} rows)",
            lambda: scorer.plan_probabilities(context=context, slots=slots, budget=BUDGET),
            lambda: retry.classifier.predict_proba(plan_matrix),
            lambda: retry_compiled.positive(plan_matrix),
        ),
    ]
    print(f"{args.calls} calls each on one thread, after {WARM_UP} to warm up; p50 / p99 ms")
    print(f"{'':30}{'scorer':>15}{'scikit-learn':>15}{'compiled':>15}")
    with threadpool_limits(limits=1):
        for label, *calls in rows:
            cells = [f"{p50:.2f} / {p99:.2f}" for p50, p99 in (timed(c, args.calls) for c in calls)]
            print(f"{label:30}" + "".join(f"{cell:>15}" for cell in cells))
    print(f"load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
