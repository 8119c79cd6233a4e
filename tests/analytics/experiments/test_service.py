"""Starting, stopping, proposing and promoting: who may, and what promotion changes."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from analytics.experiments.service import (
    ExperimentRefused,
    VariantSpec,
    experiment_create,
    experiment_promote,
    experiment_propose,
    experiment_start,
    experiment_stop,
)
from dunning.decisions.policy_settings.sequence import sequence_current
from dunning.models import ActionKind, AuditEntry, ConfigVersion
from tests.analytics.experiments.build import outcomes, running_experiment
from tests.dunning.decided import decided_invoice

pytestmark = pytest.mark.django_db


def won(manager, **variant):
    """A running experiment whose planned sample is in and whose variant clearly won."""
    experiment = running_experiment(manager, effect=0.45, variant=variant or {"channel": "sms"})
    planned = experiment.planned_per_variant
    outcomes(experiment, "control", recovered=2, failed=planned - 2)
    outcomes(experiment, "treatment", recovered=planned - 1, failed=1)
    return experiment


def test_manager_designs_an_experiment_with_its_planned_sample_and_it_is_audited(manager):
    experiment = experiment_create(
        user=manager,
        name="tone",
        hypothesis="Firm gets paid sooner.",
        segment="",
        baseline_rate=0.3,
        minimum_effect=0.1,
        alpha=0.05,
        power=0.8,
        window_days=28,
        variants=[
            VariantSpec("control", "Today", {}, is_control=True),
            VariantSpec("firm", "Firm", {"tone": "firm"}),
        ],
    )
    assert experiment.planned_per_variant == 356 and experiment.status == "draft"
    assert AuditEntry.objects.filter(action="experiment.created", actor=manager).exists()

    experiment_start(experiment=experiment, user=manager)
    assert experiment.status == "running" and experiment.started_at is not None
    with pytest.raises(ExperimentRefused):
        experiment_start(experiment=experiment, user=manager)
    experiment_stop(experiment=experiment, user=manager)
    assert experiment.status == "stopped"
    assert AuditEntry.objects.filter(action="experiment.stopped").count() == 1


def test_agent_cannot_design_or_start_an_experiment(agent, manager):
    with pytest.raises(PermissionDenied):
        running_experiment(agent)
    experiment = running_experiment(manager)
    with pytest.raises(PermissionDenied):
        experiment_stop(experiment=experiment, user=agent)


def test_no_winner_can_be_proposed_before_the_planned_sample_is_in(manager):
    experiment = running_experiment(manager)
    outcomes(experiment, "control", recovered=0, failed=20)
    outcomes(experiment, "treatment", recovered=20, failed=0)
    with pytest.raises(ExperimentRefused, match="before the planned sample"):
        experiment_propose(experiment=experiment, user=manager, key="treatment")


def test_manager_proposes_the_winner_but_cannot_promote_it(manager):
    experiment = won(manager)
    experiment_propose(experiment=experiment, user=manager, key="treatment")
    assert experiment.proposed_variant.key == "treatment"
    with pytest.raises(PermissionDenied):
        experiment_promote(experiment=experiment, user=manager, key="treatment", note="")
    assert not ConfigVersion.objects.filter(key="dunning_sequence").exists()


def test_admin_promotion_changes_the_default_sequence_and_the_next_decision(manager, admin_user):
    experiment = won(manager, channel="sms", tone="firm")

    experiment_promote(
        experiment=experiment, user=admin_user, key="treatment", note="SMS recovered far more"
    )

    assert experiment.status == "promoted" and experiment.promoted_version == 1
    assert sequence_current()["channel"] == "sms"
    assert set(sequence_current()["tone"].values()) == {"firm"}
    change = AuditEntry.objects.get(action="config.changed", actor=admin_user)
    assert change.data["diff"]["channel"] == {"from": "email", "to": "sms"}
    assert "variant treatment promoted" in change.data["note"]
    assert AuditEntry.objects.filter(action="experiment.promoted", actor=admin_user).exists()

    after = decided_invoice(2, decline_code="43")  # the experiment no longer assigns
    link = after.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).first()
    assert (link.channel, link.params["tone"]) == ("sms", "firm")
    assert after.explanation["sequence"]["source"] == "default sequence v1"


def test_a_variant_that_did_not_win_cannot_be_promoted(manager, admin_user):
    experiment = running_experiment(manager, effect=0.45)
    planned = experiment.planned_per_variant
    outcomes(experiment, "control", recovered=planned // 2, failed=planned - planned // 2)
    outcomes(experiment, "treatment", recovered=planned // 2, failed=planned - planned // 2)
    with pytest.raises(ExperimentRefused, match="did not beat the control"):
        experiment_promote(experiment=experiment, user=admin_user, key="treatment", note="")
