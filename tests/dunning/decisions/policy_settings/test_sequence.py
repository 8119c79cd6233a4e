"""The dunning sequence shapes the policy's proposals; the guardrails still bind them."""

from __future__ import annotations

from datetime import timedelta

from dunning.decisions.policy import plan_decide
from dunning.decisions.policy_settings.sequence import (
    sequence_defaults,
    sequence_for_segment,
    sequence_merge,
    sequence_problems,
)
from dunning.models import ActionKind, AutomationMode
from tests.dunning.decisions.test_policy import AUTO, FAILED_AT, TRAINED, context, kinds

SMS_FIRM_OFFER = sequence_for_segment(
    document=sequence_merge(
        document=sequence_defaults(),
        overrides={"channel": "sms", "tone": "firm", "offer": "discount_10"},
    ),
    segment="growth",
    source="test variant",
)


def test_the_defaults_are_todays_behaviour():
    default = plan_decide(
        context=context(),
        guardrails=AUTO,
        scorers=TRAINED,
        sequence=sequence_for_segment(
            document=sequence_defaults(), segment="growth", source="default"
        ),
    )
    before = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED)
    assert [(a.kind, a.channel, a.scheduled_for, a.params) for a in default.actions] == [
        (a.kind, a.channel, a.scheduled_for, a.params) for a in before.actions
    ]
    assert sequence_problems(sequence_defaults()) == []


def test_a_fixed_delay_retries_that_many_hours_after_the_decline_instead_of_the_best_slot():
    fixed = sequence_for_segment(
        document=sequence_merge(
            document=sequence_defaults(), overrides={"timing": "fixed_delay", "delay_hours": 48}
        ),
        segment="growth",
        source="test",
    )
    best = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED)
    plan = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED, sequence=fixed)

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    best_retry = next(a for a in best.actions if a.kind == ActionKind.RETRY)
    assert retry.scheduled_for == FAILED_AT + timedelta(hours=48)
    assert best_retry.scheduled_for != retry.scheduled_for  # the model's Friday morning
    assert "fixed 48 h after the decline" in plan.reasoning


def test_channel_tone_and_offer_of_the_variant_reach_the_actions_and_the_offer_needs_approval():
    plan = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED, sequence=SMS_FIRM_OFFER)

    message = next(a for a in plan.actions if a.kind == ActionKind.MESSAGE)
    assert (message.channel, message.params["tone"]) == ("sms", "firm")
    offer = next(a for a in plan.actions if a.kind == ActionKind.OFFER)
    assert offer.needs_approval and offer.risk == "high"  # even in auto mode
    assert plan.explanation["sequence"]["source"] == "test variant"


def test_the_contact_limit_still_stops_a_variants_message_and_its_offer():
    limited = context(contacts_last_7d=3)
    plan = plan_decide(context=limited, guardrails=AUTO, scorers=TRAINED, sequence=SMS_FIRM_OFFER)
    assert ActionKind.MESSAGE not in kinds(plan) and ActionKind.OFFER not in kinds(plan)


def test_a_variant_in_a_shadow_segment_is_only_logged():
    shadow = AUTO.__class__(default_mode=AutomationMode.SHADOW)
    plan = plan_decide(
        context=context(), guardrails=shadow, scorers=TRAINED, sequence=SMS_FIRM_OFFER
    )
    message = next(a for a in plan.actions if a.kind == ActionKind.MESSAGE)
    assert "shadow mode" in message.approval_reason


def test_a_large_invoice_in_a_variant_still_waits_for_approval():
    large = context(amount_due=500_000)
    plan = plan_decide(context=large, guardrails=AUTO, scorers=TRAINED, sequence=SMS_FIRM_OFFER)
    assert all(a.needs_approval for a in plan.actions if a.kind == ActionKind.MESSAGE)


def test_a_bad_sequence_document_is_refused_with_reasons():
    bad = {**sequence_defaults(), "channel": "fax", "delay_hours": 0, "colour": "red"}
    problems = sequence_problems(bad)
    assert any("channel" in p for p in problems) and any("delay_hours" in p for p in problems)
    assert any("colour" in p for p in problems)
