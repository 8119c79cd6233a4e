"""New failures are assigned to a variant once, deterministically, and the variant shapes
the decision; the guardrails still apply to every variant."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from analytics.experiments.assignment import assignment_ensure, bucket_of, variant_for
from analytics.models import Assignment, Experiment
from dunning.actions.channels.builtin_drafter import BuiltinDrafter
from dunning.actions.channels.drafting import DraftBrief
from dunning.models import ActionKind, AuditEntry
from dunning.pipeline.decide import decision_make
from tests.analytics.experiments.build import STARTED, running_experiment
from tests.dunning.decided import FAILED_AT, decided_invoice


def decide_again(n: int):
    return decision_make(
        invoice_id=f"inv_{n}", trigger="payment_failed", at=FAILED_AT + timedelta(hours=1)
    )


def test_the_same_invoice_always_lands_in_the_same_bucket_and_weights_split_the_traffic():
    ids = [f"inv_{n}" for n in range(6000)]
    first = [bucket_of(salt="s1", invoice_id=i, weights=[1, 1]) for i in ids]
    assert first == [bucket_of(salt="s1", invoice_id=i, weights=[1, 1]) for i in ids]
    assert abs(Counter(first)[0] / len(ids) - 0.5) < 0.03
    three_to_one = Counter(bucket_of(salt="s1", invoice_id=i, weights=[3, 1]) for i in ids)
    assert abs(three_to_one[0] / len(ids) - 0.75) < 0.03
    other_salt = [bucket_of(salt="s2", invoice_id=i, weights=[1, 1]) for i in ids]
    assert 0.4 < sum(a != b for a, b in zip(first, other_salt, strict=True)) / len(ids) < 0.6


def invoice_numbers_in(experiment: Experiment, key: str, *, count: int = 1) -> list[int]:
    """Invoice numbers (for ``decided_invoice``) the hash puts in variant ``key``."""
    found = []
    for n in range(1, 500):
        if variant_for(experiment=experiment, invoice_id=f"inv_{n}").key == key:
            found.append(n)
            if len(found) == count:
                return found
    raise AssertionError("no invoice hashes to that variant")


@pytest.mark.django_db
def test_deciding_twice_about_a_new_failure_keeps_its_one_assignment(manager):
    experiment = running_experiment(manager)
    decided_invoice(1, decline_code="43")
    decide_again(1)  # a second decision about the same invoice

    assignment = Assignment.objects.get(invoice_id="inv_1")
    again = assignment_ensure(
        experiment=experiment, invoice_id="inv_1", first_failed_at=assignment.first_failed_at
    )
    assert again.pk == assignment.pk
    assert assignment.variant == variant_for(experiment=experiment, invoice_id="inv_1")
    assert assignment.window_end - assignment.first_failed_at == timedelta(days=28)


@pytest.mark.django_db
def test_an_invoice_that_failed_before_the_experiment_started_stays_on_the_default(manager):
    experiment = running_experiment(manager)
    Experiment.objects.filter(pk=experiment.pk).update(started_at=STARTED + timedelta(days=5))

    decision = decided_invoice(1, decline_code="43")  # failed 2 November, before the start

    assert not Assignment.objects.exists()
    assert "experiment" not in decision.explanation
    assert decision.explanation["sequence"]["source"] == "default sequence (built in)"


@pytest.mark.django_db
def test_a_variants_channel_tone_and_offer_shape_the_proposed_actions(manager):
    experiment = running_experiment(
        manager, variant={"channel": "sms", "tone": "firm", "offer": "extra_week"}
    )
    [in_control] = invoice_numbers_in(experiment, "control")
    [in_variant] = invoice_numbers_in(experiment, "treatment")

    control = decided_invoice(in_control, decline_code="43")  # card stolen: a link, no retry
    variant = decided_invoice(in_variant, decline_code="43")

    control_link = control.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).first()
    variant_link = variant.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).first()
    assert (control_link.channel, control_link.params.get("tone")) == ("email", None)
    assert (variant_link.channel, variant_link.params["tone"]) == ("sms", "firm")
    assert not control.actions.filter(kind=ActionKind.OFFER).exists()
    offer = variant.actions.get(kind=ActionKind.OFFER)
    assert offer.needs_approval and offer.params == {"offer": "extra_week"}
    assert variant.explanation["experiment"]["variant"] == "treatment"
    assert control.explanation["experiment"]["variant"] == "control"
    audited = AuditEntry.objects.get(action="decision.made", object_id=str(variant.pk))
    assert audited.data["experiment"]["name"] == "sms first"
    assert audited.data["sequence"]["channel"] == "sms"


def test_the_firm_tone_changes_the_drafted_email():
    brief = DraftBrief(purpose="payment_method_update", channel="email", segment="self_serve")
    friendly = BuiltinDrafter().draft(brief).body
    firm = BuiltinDrafter().draft(DraftBrief(**{**vars(brief), "tone": "firm"})).body
    assert "real person" in friendly and "settle this promptly" in firm
    assert "settle this promptly" not in friendly


@pytest.mark.django_db
def test_a_segment_limited_experiment_leaves_other_segments_on_the_default(manager):
    running_experiment(manager, segment="enterprise")
    decision = decided_invoice(1, decline_code="43")  # a self-serve customer
    assert decision.segment == "self_serve" and not Assignment.objects.exists()


@pytest.mark.django_db
def test_a_stopped_experiment_sends_its_invoices_back_to_the_default(manager):
    experiment = running_experiment(manager, variant={"channel": "sms"})
    [n] = invoice_numbers_in(experiment, "treatment")
    decided_invoice(n, decline_code="43")
    Experiment.objects.filter(pk=experiment.pk).update(status="stopped")

    later = decide_again(n)

    assert later.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).first().channel == "email"
    assert Assignment.objects.count() == 1


@pytest.mark.django_db
def test_admin_sees_the_experiment_and_variant_on_the_invoices_decision(
    client, admin_user, manager
):
    from django.urls import reverse

    experiment = running_experiment(manager)
    [n] = invoice_numbers_in(experiment, "treatment")
    decided_invoice(n, decline_code="43")
    client.force_login(admin_user)

    page = client.get(reverse("dunning:invoice_decisions", args=[f"inv_{n}"]))

    assert b"experiment sms first: treatment" in page.content
