"""A new or updated card after a decline: retry on it rather than ask the customer again."""

from __future__ import annotations

from datetime import timedelta

from dunning.decisions.plan import GuardrailSnapshot, Scorers
from dunning.decisions.policy import plan_decide
from dunning.decisions.rules.network_rules import Decline
from dunning.enrichment.card_updater.answers import CardUpdaterFinding
from dunning.models import ActionKind, AutomationMode
from tests.dunning.decisions.test_policy import AUTO, FAILED_AT, TRAINED, context, kinds

EXPIRED = Decline(brand="visa", decline_code="54", error_category="hard_decline")
AN_HOUR_LATER = FAILED_AT + timedelta(hours=1)


def finding(outcome: str, **fields) -> CardUpdaterFinding:
    return CardUpdaterFinding(
        outcome=outcome, adapter="http", payment_source_id="pm_1", reference="au_9", **fields
    )


def test_an_updated_card_from_the_updater_gets_a_retry_instead_of_a_payment_method_request():
    updated = context(
        decline=EXPIRED, card_updater=finding("updated", kind="new_card", last4="1881")
    )

    plan = plan_decide(context=updated, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.PAYMENT_METHOD_LINK not in kinds(plan)
    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    # Within the hour, though the model would rather wait for Friday morning.
    assert retry.scheduled_for <= FAILED_AT + timedelta(hours=1, minutes=5)
    assert ActionKind.MESSAGE not in kinds(plan)  # no "payment failed" email either
    assert "the card updater found a replacement card ending 1881 (ref au_9)" in plan.reasoning
    assert plan.explanation["card_updater"]["reference"] == "au_9"


def test_an_updated_card_in_a_cold_start_is_retried_within_minutes_and_chargebee_keeps_the_rest():
    updated = context(decline=EXPIRED, card_updater=finding("updated", kind="new_expiry"))

    plan = plan_decide(context=updated, guardrails=AUTO, scorers=Scorers())

    assert kinds(plan) == [ActionKind.RETRY]  # no take-over: Chargebee's schedule stays
    retry = plan.actions[0]
    assert retry.scheduled_for == FAILED_AT + timedelta(minutes=5)
    assert not retry.needs_approval
    assert "new expiry date" in plan.reasoning and "on the new card" in plan.reasoning


def test_a_closed_account_still_asks_the_customer_and_says_why():
    closed = context(decline=EXPIRED, card_updater=finding("closed"))

    plan = plan_decide(context=closed, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.RETRY not in kinds(plan)
    assert ActionKind.PAYMENT_METHOD_LINK in kinds(plan)
    assert "the card updater says the card's account is closed" in plan.reasoning


def test_a_card_the_customer_changed_is_retried_soon_without_another_failed_payment_email():
    changed = context(
        decline=EXPIRED,
        at=AN_HOUR_LATER,
        trigger="payment_method_changed",
        card_changed_since_failure=True,
    )

    plan = plan_decide(context=changed, guardrails=AUTO, scorers=Scorers())

    assert kinds(plan) == [ActionKind.RETRY]
    assert plan.actions[0].scheduled_for == AN_HOUR_LATER + timedelta(minutes=5)


def test_a_new_card_still_obeys_the_networks_reattempt_ceiling():
    twenty = tuple(FAILED_AT - timedelta(hours=h) for h in range(1, 21))  # 20 in the last day
    changed = context(
        decline=Decline(brand="visa", decline_code="51"),
        at=AN_HOUR_LATER,
        card_attempts=twenty,
        card_changed_since_failure=True,
    )

    plan = plan_decide(context=changed, guardrails=AUTO, scorers=Scorers())

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert retry.scheduled_for > FAILED_AT + timedelta(days=29)
    assert "Visa allows at most 20 reattempts in 30 days" in plan.rules_fired


def test_a_new_card_in_approve_mode_waits_for_a_person():
    changed = context(decline=EXPIRED, at=AN_HOUR_LATER, card_changed_since_failure=True)
    approve = GuardrailSnapshot(default_mode=AutomationMode.APPROVE)

    plan = plan_decide(context=changed, guardrails=approve, scorers=Scorers())

    assert plan.actions[0].kind == ActionKind.RETRY and plan.actions[0].needs_approval
