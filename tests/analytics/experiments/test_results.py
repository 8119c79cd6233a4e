"""Recovery per variant from the database: recovered, not recovered, pending."""

from __future__ import annotations

import pytest

from analytics.experiments.results import experiment_results
from tests.analytics.experiments.build import outcome, outcomes, running_experiment

pytestmark = pytest.mark.django_db


def test_pending_invoices_are_not_failures_and_late_payments_are(manager):
    experiment = running_experiment(manager)
    outcomes(experiment, "control", recovered=3, failed=2, pending=4)
    outcome(experiment, "control", 99, recovered=True, paid_late=True)  # paid after the window
    outcomes(experiment, "treatment", recovered=4, failed=1)

    results = experiment_results(experiment=experiment)

    control, treatment = results.variants
    assert (control.assigned, control.recovered, control.failed, control.pending) == (10, 3, 3, 4)
    assert control.rate == pytest.approx(0.5)
    assert (treatment.recovered, treatment.failed, treatment.rate) == (4, 1, pytest.approx(0.8))
    assert round(treatment.low, 3) == 0.376  # Wilson, 4 of 5
    assert not results.verdict.conclusive
    assert results.verdict.text.startswith(
        f"Not conclusive yet: 11 of {2 * experiment.planned_per_variant} planned outcomes"
    )


def test_the_verdict_reads_only_each_variants_first_planned_assignments(manager):
    experiment = running_experiment(manager, effect=0.45)  # a small planned sample
    planned = experiment.planned_per_variant
    outcomes(experiment, "control", recovered=2, failed=planned - 2)
    outcomes(experiment, "treatment", recovered=planned - 1, failed=1)

    first = experiment_results(experiment=experiment).verdict
    assert first.conclusive and first.winner == "treatment"

    # Later assignments, however they turn out, do not move a verdict already reached.
    for n in range(500, 500 + 3 * planned):
        outcome(experiment, "treatment", n, recovered=False)
    again = experiment_results(experiment=experiment)
    assert again.verdict == first
    assert again.variants[1].failed == 1 + 3 * planned  # the table still shows everything


def test_the_design_baseline_is_todays_recovery_within_the_window(manager):
    from analytics.experiments.baseline import baseline_recovery_rate

    experiment = running_experiment(manager)
    outcomes(experiment, "control", recovered=3, failed=1, pending=2)  # pending: window open
    outcome(experiment, "control", 99, recovered=True, paid_late=True)

    assert baseline_recovery_rate(window_days=28) == pytest.approx(3 / 5)
