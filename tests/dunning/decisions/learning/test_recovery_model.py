"""Training the recovery model: measured on the future it did not see, against a baseline,
activated only when better, and silent (rules stay in charge) when history is too short."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from dunning.decisions.learning.recovery_model import MIN_EXAMPLES, ColdStart, recovery_model_train
from dunning.models import AuditEntry, ModelVersion
from sandbox.simulator.run import simulate_history
from tests.conftest import history_backfilled

pytestmark = pytest.mark.django_db

END = 1_790_000_000


@pytest.fixture
def year_of_history(sandbox, settings):
    settings.CHARGEBEE_REQUESTS_PER_MINUTE = 60_000
    history_backfilled(sandbox, customers=420, months=12, seed=3, end=END)


def test_short_history_is_a_cold_start_and_no_model_is_recorded(sandbox):
    simulate_history(sandbox, customers=20, months=1, seed=3, end=END)
    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    with pytest.raises(ColdStart, match=f"need {MIN_EXAMPLES}"):
        recovery_model_train()
    assert not ModelVersion.objects.exists()


def test_versions_are_measured_on_the_future_and_activated_only_when_better(year_of_history):
    result = recovery_model_train()

    metrics = result.version.metrics
    assert result.version.version == 1 and result.version.examples >= MIN_EXAMPLES * 0.75
    assert 0 <= metrics["model"]["brier"] <= 1 and 0 <= metrics["baseline"]["brier"] <= 1
    assert len(metrics["model"]["calibration"]) == 10
    assert (
        metrics["holdout"]["from"] > result.version.window_end.isoformat()
    )  # judged on the future
    beats = metrics["model"]["roc_auc"] > metrics["baseline"]["roc_auc"]
    assert result.activated == beats == result.version.active
    assert AuditEntry.objects.get(action="model.trained").data["activated"] == beats

    ModelVersion.objects.filter(pk=result.version.pk).update(
        active=True
    )  # whatever the baseline said
    second = recovery_model_train()  # the same history: no better than the active model

    assert second.version.version == 2
    assert not second.activated
    assert second.version.metrics["active"]["version"] == 1  # compared on the same hold-out
    assert second.version.decision_note.startswith("not activated")
    assert ModelVersion.objects.get(active=True).version == 1
