"""Shadow is auto, logged: a shadow decision is the decision auto would have made."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dunning.actions.state_machine import action_transition
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import Action, ActionKind, ActionState, Decision, Transaction
from dunning.pipeline.decide import decision_make
from tests.dunning.decided import FAILED_AT, declined_invoice

pytestmark = pytest.mark.django_db

DAILY_REVIEWS = [FAILED_AT + timedelta(days=k) for k in range(1, 31)]


def _plan(decision: Decision) -> list[tuple[str, object]]:
    return [(a.kind, a.scheduled_for) for a in decision.actions.order_by("pk")]


def _auto_runs_what_is_due(*, invoice_id: str, before) -> None:
    """What auto's executor and Chargebee leave behind: every action due ran; each retry was
    declined (the card still lacks funds) and the decline came back as a failed payment."""
    due = Action.objects.filter(
        invoice_id=invoice_id, state=ActionState.SCHEDULED, scheduled_for__lt=before
    )
    for action in due:
        action_transition(action=action, to=ActionState.EXECUTED, actor_label="executor")
        if action.kind != ActionKind.RETRY:
            continue
        Transaction.objects.create(
            cb_id=f"txn_retry_{action.pk}",
            customer_id=action.customer_id,
            invoice_id=invoice_id,
            type="payment",
            status="failure",
            date=action.scheduled_for,
            gateway="stripe",
            error_category="soft_decline",
            decline_code="51",
            payment_source_cb_id=f"pm_{invoice_id.removeprefix('inv_')}",
            amount=4900,
            resource_version=1,
        )


def _decide_history(n: int, *, executes: bool) -> list[list[tuple[str, object]]]:
    invoice = declined_invoice(n)
    plans = [_plan(decision_make(invoice_id=invoice.cb_id, trigger="payment_failed", at=FAILED_AT))]
    for at in DAILY_REVIEWS:
        if executes:
            _auto_runs_what_is_due(invoice_id=invoice.cb_id, before=at)
        plans.append(_plan(decision_make(invoice_id=invoice.cb_id, trigger="open_invoice", at=at)))
    return plans


def test_one_history_decided_in_shadow_and_in_auto_gives_the_same_plan(admin_user):
    guardrails_update(changes={"max_retries": 2}, user=admin_user, note="a short budget")
    shadow = _decide_history(1, executes=False)
    # (Auto also explores a share of its retries at random, to learn; shadow never does.)
    guardrails_update(
        changes={"default_mode": "auto", "exploration_share": 0.0}, user=admin_user, note="go live"
    )
    auto = _decide_history(2, executes=True)

    assert shadow == auto
    kinds = [kind for plan in shadow for kind, _ in plan]
    assert kinds.count(ActionKind.TAKE_OVER) == 1  # Chargebee is paused once
    assert ActionKind.PAYMENT_METHOD_LINK in kinds  # the retry cap binds in shadow too


def test_a_shadow_retry_that_would_have_run_counts_and_is_not_proposed_again():
    invoice = declined_invoice(1)
    first = decision_make(invoice_id=invoice.cb_id, trigger="payment_failed", at=FAILED_AT)
    retry = first.actions.get(kind=ActionKind.RETRY)

    later = decision_make(
        invoice_id=invoice.cb_id,
        trigger="open_invoice",
        at=retry.scheduled_for + timedelta(hours=1),
    )

    assert later.features["dunwell_retries"] == 1
    assert later.features["last_failed_at"] == retry.scheduled_for.isoformat().replace(
        "+00:00", "Z"
    )
    [next_retry] = later.actions.filter(kind=ActionKind.RETRY)
    assert next_retry.scheduled_for >= retry.scheduled_for + timedelta(days=1)
    assert not later.actions.filter(kind=ActionKind.TAKE_OVER).exists()


def test_a_shadow_retry_superseded_before_its_time_does_not_count():
    invoice = declined_invoice(1)
    first = decision_make(invoice_id=invoice.cb_id, trigger="payment_failed", at=FAILED_AT)
    retry = first.actions.get(kind=ActionKind.RETRY)
    decision_make(
        invoice_id=invoice.cb_id,
        trigger="open_invoice",
        at=retry.scheduled_for - timedelta(minutes=30),
    )

    after = decision_make(
        invoice_id=invoice.cb_id,
        trigger="open_invoice",
        at=retry.scheduled_for + timedelta(minutes=20),
    )

    # Auto would have cancelled it at the decision before its time: it never ran.
    assert after.features["dunwell_retries"] == 0
