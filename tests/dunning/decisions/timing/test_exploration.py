"""Exploration: a share of auto's retries at a random allowed slot, each with its propensity."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from dunning.decisions.plan import GuardrailSnapshot, Scorers
from dunning.decisions.policy import plan_decide
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.decisions.rules.network_rules import Decline
from dunning.decisions.timing.exploration import NIGHT, slot_propensity
from dunning.models import Action, ActionKind, AutomationMode
from dunning.pipeline.decide import decision_make
from tests.dunning.decided import FAILED_AT as DECIDED_AT
from tests.dunning.decided import declined_invoice
from tests.dunning.decisions.test_policy import FAILED_AT, context

EXPLORING = GuardrailSnapshot(default_mode=AutomationMode.AUTO, exploration_share=0.2)
INVOICES = [f"inv_{n}" for n in range(300)]


def _retry(plan):
    return next(a for a in plan.actions if a.kind == ActionKind.RETRY)


def _decided(guardrails=EXPLORING, **overrides):
    contexts = [context(invoice_id=invoice, **overrides) for invoice in INVOICES]
    return [plan_decide(context=c, guardrails=guardrails, scorers=Scorers()) for c in contexts]


def test_about_the_share_of_auto_retries_is_explored_and_never_at_a_forbidden_slot():
    # Mastercard says wait 72 hours: no retry, explored or not, comes sooner.
    wait = Decline(
        brand="mastercard", decline_code="51", advice_code="02", error_category="soft_decline"
    )
    plans = _decided(decline=wait)

    explored = [p for p in plans if _retry(p).explored]
    assert 0.1 < len(explored) / len(plans) < 0.3
    for plan in explored:
        retry = _retry(plan)
        local = retry.scheduled_for.astimezone(ZoneInfo("America/Chicago")).time()
        assert retry.scheduled_for >= FAILED_AT + timedelta(hours=72)
        assert retry.scheduled_for <= FAILED_AT + timedelta(days=28)
        assert not NIGHT.covers(local)  # never in the customer's night
        assert retry.params["probability"] >= EXPLORING.confidence_floor
        assert "explored at random" in plan.reasoning


def test_a_decline_the_rules_forbid_is_never_explored():
    stolen = Decline(brand="visa", decline_code="43", error_category="hard_decline")

    plans = _decided(decline=stolen)

    assert not any(a.kind == ActionKind.RETRY for p in plans for a in p.actions)


@pytest.mark.parametrize("mode", [AutomationMode.APPROVE, AutomationMode.SHADOW])
def test_approve_and_shadow_mode_never_explore(mode):
    plans = _decided(guardrails=replace(EXPLORING, default_mode=mode))

    retries = [_retry(p) for p in plans]
    assert not any(r.explored for r in retries)
    assert {r.propensity for r in retries} == {1.0}
    assert "explored" not in " ".join(p.reasoning for p in plans)


def test_propensities_are_the_policys_chances_of_each_slot_and_add_up_to_one():
    plans = _decided()
    for plan in plans:
        note, retry = plan.explanation["exploration"], _retry(plan)
        n, share = note["allowed_slots"], note["share"]
        best = 1 - share + (share / n if note["best_allowed"] else 0)
        expected = share / n if retry.explored else best
        assert retry.propensity == pytest.approx(expected)
    allowed = [FAILED_AT + timedelta(hours=3 * k) for k in range(40)]
    total = sum(
        slot_propensity(at=at, greedy=allowed[7], allowed=allowed, share=0.2) for at in allowed
    )
    assert total == pytest.approx(1.0)


def test_the_draw_is_the_same_each_time_an_invoice_and_attempt_are_decided():
    first, again = _decided(), _decided()

    assert [_retry(p).scheduled_for for p in first] == [_retry(p).scheduled_for for p in again]
    second_attempt = _decided(dunwell_retries=1)
    assert [_retry(p).explored for p in first] != [_retry(p).explored for p in second_attempt]


@pytest.mark.django_db
def test_an_explored_retry_is_stored_with_its_propensity_and_the_sentence_says_so(admin_user):
    guardrails_update(
        changes={"default_mode": "auto", "exploration_share": 0.2}, user=admin_user, note="learn"
    )
    for n in range(1, 40):
        declined_invoice(n)
        decision_make(invoice_id=f"inv_{n}", trigger="payment_failed", at=DECIDED_AT)

    retries = Action.objects.filter(kind=ActionKind.RETRY)
    explored = retries.filter(explored=True)
    assert explored.exists() and retries.filter(explored=False).exists()
    for retry in explored:
        note = retry.decision.explanation["exploration"]
        assert retry.propensity == pytest.approx(0.2 / note["allowed_slots"])
        assert "explored at random" in retry.decision.reasoning
    for retry in retries.filter(explored=False):
        assert retry.propensity >= 0.8  # the best guess, most of the time


@pytest.mark.django_db
def test_the_invoice_page_marks_an_explored_retry(client, manager, admin_user):
    guardrails_update(
        changes={"default_mode": "auto", "exploration_share": 0.2}, user=admin_user, note="learn"
    )
    for n in range(1, 40):
        declined_invoice(n)
        decision_make(invoice_id=f"inv_{n}", trigger="payment_failed", at=DECIDED_AT)
    retry = Action.objects.filter(kind=ActionKind.RETRY, explored=True).first()
    client.force_login(manager)

    body = client.get(reverse("dunning:invoice_decisions", args=[retry.invoice_id])).content

    assert b">explored</span>" in body
