"""The retry model: examples from the mirror in bulk, judged against the fixed schedule on
the future it did not see, and a scorer that explains the slot it likes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.management import call_command

from dunning.decisions.enrichment import decision_context_build
from dunning.decisions.learning.recovery_data import recovery_examples
from dunning.decisions.learning.retry_data import attempt_examples, attempt_history_from_mirror
from dunning.decisions.learning.retry_model import RetryModelScorer, retry_model_train
from dunning.decisions.learning.scoring import active_scorers, scorers_forget
from dunning.decisions.plan import GuardrailSnapshot, Scorers
from dunning.decisions.policy import plan_decide
from dunning.decisions.timing.moments import moment_features as moments
from dunning.models import ActionKind, AuditEntry, Invoice, ModelVersion, Transaction
from sandbox.simulator.run import simulate_history
from tests.conftest import history_backfilled

pytestmark = pytest.mark.django_db

END = 1_790_000_000


def unix(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.fixture
def year_of_history(sandbox, settings):
    settings.CHARGEBEE_REQUESTS_PER_MINUTE = 60_000
    history_backfilled(sandbox, customers=420, months=12, seed=3, end=END)
    scorers_forget()
    yield
    scorers_forget()


def test_payday_features_count_only_days_after_the_decline_in_the_customers_time():
    # Declined Friday 30 Jan 2026 at 06:00 in Chicago (the last business day of January),
    # retried Monday 2 Feb at 08:00 there.
    features = moments(
        failed_at=np.array([unix("2026-01-30T12:00")]),
        at=np.array([unix("2026-02-02T14:00")]),
        zones=np.array(["America/Chicago"], dtype=object),
    )

    assert features["local_hour"][0] == 8 and features["local_weekday"][0] == 0
    assert features["crossed_first"][0] and not features["crossed_15th"][0]
    assert not features["crossed_last_business_day"][0]  # the decline day itself does not count
    assert features["fridays_crossed"][0] == 0
    assert features["hours_since_failure"][0] == 74


def test_examples_are_every_attempt_after_a_first_decline_read_in_bulk(
    year_of_history, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        history = attempt_history_from_mirror()
    with django_assert_max_num_queries(5):
        recovery = recovery_examples()
    examples = attempt_examples(history)

    declined = set(
        Transaction.objects.filter(type="payment", status="failure").values_list(
            "invoice_id", flat=True
        )
    )
    attempts = Transaction.objects.filter(type="payment", invoice_id__in=declined).count()
    assert len(examples) == attempts - len(declined)  # all but each invoice's first decline
    assert len(recovery) == len(declined)
    assert examples.numbers["attempts_so_far"].min() >= 1
    assert examples.numbers["hours_since_failure"].min() > 0
    assert list(examples.at) == sorted(examples.at)
    assert 0 < examples.succeeded.mean() < 1


def test_retry_versions_beat_the_prior_on_the_future_or_stay_inactive(year_of_history):
    result = retry_model_train()

    version, metrics = result.version, result.version.metrics
    assert version.kind == ModelVersion.Kind.RETRY and version.version == 1
    assert metrics["baseline"]["name"].startswith("the prior")
    assert len(metrics["model"]["calibration"]) == 10
    assert metrics["holdout"]["from"] > version.window_end.isoformat()
    # Its chances are compared across slots: judged on them (Brier), not on ranking alone.
    beats = metrics["model"]["brier"] < metrics["baseline"]["brier"]
    assert result.activated == beats == version.active
    assert AuditEntry.objects.get(action="model.trained").data["kind"] == "retry"

    ModelVersion.objects.filter(pk=version.pk).update(active=True)
    second = retry_model_train()

    assert not second.activated and second.version.metrics["active"]["version"] == 1


def test_active_retry_model_times_a_retry_and_says_why(year_of_history):
    version = retry_model_train().version
    ModelVersion.objects.filter(pk=version.pk).update(active=True)
    scorers = active_scorers(refresh=True)
    assert isinstance(scorers.retry, RetryModelScorer)
    # A year of a small business is a thin history: the model is shrunk toward the prior.
    assert scorers.version_label.startswith("retry v1 (weight 0.")
    assert scorers.version_label.endswith("the rest from the prior v1)")

    failed = (
        Transaction.objects.filter(type="payment", status="failure", error_code="51")
        .order_by("date")
        .first()
    )
    invoice = Invoice.objects.get(cb_id=failed.invoice_id)
    context = decision_context_build(invoice=invoice, at=failed.date, trigger="payment_failed")
    plan = plan_decide(
        context=context, guardrails=GuardrailSnapshot(default_mode="auto"), scorers=scorers
    )

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert retry.scheduled_for >= failed.date
    assert "customer time" in plan.reasoning and "predicted success" in plan.reasoning
    assert "after the decline" in plan.reasoning and plan.reasoning.count("customer time") == 1
    assert len(plan.explanation["slots_considered"]) == 5


def test_train_command_reports_both_models_beside_their_baselines(year_of_history, capsys):
    call_command("train_recovery_model", verbosity=0)

    out = capsys.readouterr().out
    assert "Recovery model v1" in out and "Retry model v1" in out
    assert out.count("baseline") >= 4
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.RETRY).count() == 1


def test_train_command_on_a_cold_start_says_the_rules_stay_in_charge(sandbox, capsys):
    simulate_history(sandbox, customers=20, months=1, seed=3, end=END)
    call_command("chargebee_backfill", since="2000-01-01", inline=True, verbosity=0)

    call_command("train_recovery_model", verbosity=0)

    out = capsys.readouterr().out
    assert "Retry model: cold start" in out and "Recovery model: cold start" in out
    assert "the prior" in out and "stay in charge" in out
    assert not ModelVersion.objects.exists()
    assert Scorers().version_label == "rules and the prior v1 (no trained model)"
