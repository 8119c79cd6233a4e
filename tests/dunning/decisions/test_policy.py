"""The decision policy on its own: rules first, then slots, then who must approve."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dunning.decisions.context import DecisionContext
from dunning.decisions.plan import GuardrailSnapshot, Scorers
from dunning.decisions.policy import plan_decide
from dunning.decisions.rules.network_rules import Decline
from dunning.enrichment.signals.values import Signals
from dunning.models import ActionKind, AutomationMode

FAILED_AT = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday


def context(**overrides) -> DecisionContext:
    base = DecisionContext(
        invoice_id="inv_1",
        customer_id="cus_1",
        at=FAILED_AT,
        trigger="payment_failed",
        currency="USD",
        amount_due=4_900,
        invoice_open=True,
        auto_collection=True,
        decline=Decline(brand="visa", decline_code="51", error_category="soft_decline"),
        first_failed_at=FAILED_AT,
        last_failed_at=FAILED_AT,
        invoice_failures=1,
        card_attempts=(),
        gateway="stripe",
        gateway_down=False,
        gateway_reason="",
        card_changed_since_failure=False,
        country="US",
        time_zone="America/Chicago",
        lifetime_value=50_000,
        tenure_days=400,
        other_unpaid_invoices=0,
        contacts_last_7d=0,
        dunwell_retries=0,
        dunwell_in_charge=False,
    )
    return replace(base, **overrides)


class FridayMorningScorer:
    """A retry model that has learnt one thing: Friday mornings (customer time) succeed."""

    version_label = "retry test"

    def slot_probabilities(self, *, context, slots):
        # Each further decline halves the next retry's chance, as issuers keep declining.
        fatigue = 0.5 ** (context.invoice_failures - 1)
        return [(0.6 if self._good(context, s) else 0.1) * fatigue for s in slots]

    def slot_reason(self, *, context, slot):
        return "Friday morning" if self._good(context, slot) else ""

    @staticmethod
    def _good(context, slot):
        from zoneinfo import ZoneInfo

        local = slot.astimezone(ZoneInfo(context.time_zone))
        return local.weekday() == 4 and 8 <= local.hour < 11


AUTO = GuardrailSnapshot(default_mode=AutomationMode.AUTO)
TRAINED = Scorers(
    recovery=lambda features: 0.7, recovery_label="recovery v1", retry=FridayMorningScorer()
)


def kinds(plan) -> list[str]:
    return [action.kind for action in plan.actions]


def test_cold_start_retries_on_the_prior_in_the_customers_morning_and_says_so():
    plan = plan_decide(context=context(), guardrails=AUTO, scorers=Scorers())

    assert kinds(plan)[:2] == [ActionKind.TAKE_OVER, ActionKind.RETRY]
    retry = plan.actions[1]
    local = retry.scheduled_for.astimezone(ZoneInfo("America/Chicago"))
    assert 6 <= local.hour < 11  # morning, not the middle of the night
    assert retry.scheduled_for >= FAILED_AT + timedelta(days=1)  # soft declines a day apart
    assert plan.model_version == "rules and the prior v1 (no trained model)"
    assert "what is known about when cards recover" in plan.reasoning
    assert "expected recovery" in plan.reasoning  # the plan for the remaining budget


def test_retry_goes_to_the_best_slot_and_the_sentence_says_when_and_why():
    plan = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED)

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    local = retry.scheduled_for.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago"))
    assert (local.weekday(), 8 <= local.hour < 11) == (4, True)
    assert plan.reasoning.startswith("Retry Fri 06 Nov 08:00 customer time: Friday morning and 60%")
    assert kinds(plan)[0] == ActionKind.TAKE_OVER  # Chargebee's dunning pauses first
    assert plan.model_version == "recovery v1 + retry test"


def test_visa_never_retry_code_gets_a_payment_method_link_instead_of_a_retry():
    stolen = context(decline=Decline(brand="visa", decline_code="43"))

    plan = plan_decide(context=stolen, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.RETRY not in kinds(plan)
    assert ActionKind.PAYMENT_METHOD_LINK in kinds(plan)
    assert "the card was reported stolen (decline 43)" in plan.rules_fired


def test_authentication_required_gets_a_link_not_an_off_session_retry():
    sca = context(decline=Decline(brand="visa", decline_code="1A"))

    plan = plan_decide(context=sca, guardrails=AUTO, scorers=TRAINED)

    assert kinds(plan) == [ActionKind.AUTHENTICATION_LINK] * 2  # the link, then a reminder
    assert plan.actions[1].scheduled_for > plan.actions[0].scheduled_for


def test_mastercard_wait_advice_pushes_the_retry_past_72_hours():
    wait = context(decline=Decline(brand="mastercard", decline_code="51", advice_code="02"))

    plan = plan_decide(context=wait, guardrails=AUTO, scorers=TRAINED)

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert retry.scheduled_for >= FAILED_AT + timedelta(hours=72)


def test_a_gateway_outage_holds_retries_and_says_so():
    down = context(gateway_down=True, gateway_reason="stripe looks down: 9 of 10 attempts failed")

    plan = plan_decide(context=down, guardrails=AUTO, scorers=TRAINED)

    assert kinds(plan)[0] == ActionKind.GATEWAY_PAUSE
    assert "stripe looks down" in plan.rules_fired[-1]
    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert retry.scheduled_for >= FAILED_AT + timedelta(hours=2)


def test_when_no_retry_has_the_smallest_chance_worth_it_the_customer_is_asked_for_a_card():
    cautious = replace(AUTO, confidence_floor=0.9)

    plan = plan_decide(context=context(), guardrails=cautious, scorers=TRAINED)

    assert ActionKind.RETRY not in kinds(plan)
    assert kinds(plan) == [ActionKind.PAYMENT_METHOD_LINK]
    assert plan.reasoning.startswith("Stop retrying: no retry left in the window has the 90%")


def test_a_spent_retry_budget_asks_for_a_card_and_a_person_decides_what_follows():
    spent = context(dunwell_retries=4, dunwell_in_charge=True)

    plan = plan_decide(context=spent, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.RETRY not in kinds(plan)
    assert kinds(plan)[:2] == [ActionKind.PAYMENT_METHOD_LINK, ActionKind.ESCALATE]
    assert "all 4 retries allowed are used" in plan.reasoning
    assert "a person decides what happens next" in plan.reasoning


def test_low_recovery_score_escalates_to_a_person():
    gloomy = replace(TRAINED, recovery=lambda features: 0.1)

    plan = plan_decide(context=context(recovery_features={"x": 1}), guardrails=AUTO, scorers=gloomy)

    assert ActionKind.ESCALATE in kinds(plan)
    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert retry.needs_approval and "under the review threshold" in retry.approval_reason


def test_auto_mode_runs_low_risk_actions_but_a_large_invoice_waits_for_approval():
    small = plan_decide(context=context(), guardrails=AUTO, scorers=TRAINED)
    large = plan_decide(context=context(amount_due=250_000), guardrails=AUTO, scorers=TRAINED)

    assert not any(a.needs_approval for a in small.actions)
    retry = next(a for a in large.actions if a.kind == ActionKind.RETRY)
    assert (retry.needs_approval, retry.risk) == (True, "high")
    assert "review amount" in retry.approval_reason


@pytest.mark.parametrize("mode", [AutomationMode.SHADOW, AutomationMode.APPROVE])
def test_shadow_and_approve_modes_never_let_a_retry_run_on_its_own(mode):
    plan = plan_decide(
        context=context(), guardrails=GuardrailSnapshot(default_mode=mode), scorers=TRAINED
    )

    retry = next(a for a in plan.actions if a.kind == ActionKind.RETRY)
    assert plan.mode == mode
    assert (retry.needs_approval, mode) in ((False, "shadow"), (True, "approve"))
    assert mode in retry.approval_reason


def test_end_of_dunning_proposes_cancellation_that_always_needs_approval():
    exhausted = context(dunwell_retries=8)

    plan = plan_decide(context=exhausted, guardrails=AUTO, scorers=TRAINED)

    cancel = next(a for a in plan.actions if a.kind == ActionKind.CANCEL_SUBSCRIPTION)
    assert cancel.needs_approval and cancel.risk == "high"
    assert ActionKind.ESCALATE in kinds(plan)


def test_contact_limit_stops_messages_and_hands_the_customer_to_a_person():
    contacted = context(decline=Decline(brand="visa", decline_code="54"), contacts_last_7d=3)

    plan = plan_decide(context=contacted, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.PAYMENT_METHOD_LINK not in kinds(plan)
    assert ActionKind.ESCALATE in kinds(plan)
    assert "contact limit" in plan.reasoning


def test_offline_payers_get_a_reminder_not_a_card_retry():
    offline = context(auto_collection=False, decline=None)

    plan = plan_decide(context=offline, guardrails=AUTO, scorers=TRAINED)

    assert kinds(plan) == [ActionKind.MESSAGE] * 4  # due, +7, +14, final notice
    assert ActionKind.RETRY not in kinds(plan)
    assert "Offline payer" in plan.reasoning


def test_enterprise_crm_tier_uses_its_segments_mode():
    guardrails = replace(AUTO, segment_modes={"enterprise": AutomationMode.APPROVE})
    vip = context(signals=Signals(crm_tier="enterprise"))

    plan = plan_decide(context=vip, guardrails=guardrails, scorers=TRAINED)

    assert (plan.segment, plan.mode) == ("enterprise", AutomationMode.APPROVE)


def test_paid_invoice_gets_no_actions():
    plan = plan_decide(context=context(invoice_open=False), guardrails=AUTO, scorers=TRAINED)

    assert plan.actions == [] and "no longer due" in plan.reasoning


def test_after_chargebees_dunning_ended_a_cold_start_hands_the_invoice_to_a_person():
    ended = context(chargebee_dunning_active=False, subscription_active=False)

    plan = plan_decide(context=ended, guardrails=AUTO, scorers=Scorers())

    assert kinds(plan) == [ActionKind.ESCALATE]  # the subscription is already cancelled
    assert "Chargebee's dunning has ended" in plan.reasoning


def test_a_customer_who_asked_to_cancel_is_escalated_to_a_person():
    leaving = context(signals=Signals(cancel_intent=True))

    plan = plan_decide(context=leaving, guardrails=AUTO, scorers=TRAINED)

    escalation = next(a for a in plan.actions if a.kind == ActionKind.ESCALATE)
    assert "asked to cancel" in escalation.reasoning


def test_a_subscription_whose_cancellation_already_waits_is_not_proposed_for_cancelling_again():
    second_invoice = context(dunwell_retries=8, cancellation_pending=True)

    plan = plan_decide(context=second_invoice, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.CANCEL_SUBSCRIPTION not in kinds(plan)
    assert ActionKind.ESCALATE in kinds(plan)


def test_leaving_an_invoice_unpaid_is_not_proposed_when_chargebees_dunning_already_ended():
    ended = context(
        dunwell_retries=8,
        chargebee_dunning_active=False,
        final_actions=(ActionKind.CANCEL_SUBSCRIPTION, ActionKind.STOP_DUNNING),
    )

    plan = plan_decide(context=ended, guardrails=AUTO, scorers=TRAINED)

    assert ActionKind.STOP_DUNNING not in kinds(plan)
    assert ActionKind.CANCEL_SUBSCRIPTION in kinds(plan)
