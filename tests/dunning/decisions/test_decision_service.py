"""Deciding about real failures: from the webhook to a recorded, audited decision."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from dunning.actions.state_machine import (
    ActionConflict,
    ApprovalOutdated,
    action_approve,
    action_fingerprint,
    action_reject,
)
from dunning.decisions.enrichment import decision_context_build
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.governance.audit import audit_verify
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    ChargebeeEvent,
    Decision,
    Invoice,
)
from dunning.models.events import ReceivedVia
from dunning.pipeline.decide import decision_make
from dunning.pipeline.triggers import (
    decide_for_event_job,
    decisions_for_event,
    decisions_for_open_invoices,
    decisions_relay,
)
from dunning.sync.ingest import events_store_bulk
from dunning.sync.processing import events_process_batch, events_process_due
from tests.conftest import failed_renewal

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(sandbox, post_webhook, django_capture_on_commit_callbacks, run_jobs):
    """POST every sandbox event not yet delivered, then run every job that follows."""
    sent = set()

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            for event in sandbox.events:
                if event["id"] not in sent:
                    assert post_webhook(event).status_code == 200
                    sent.add(event["id"])
        while True:
            with django_capture_on_commit_callbacks(execute=True):
                ran = run_jobs()
            if not ran:
                return

    return run


def test_a_failed_payment_webhook_leads_to_one_audited_decision(sandbox, deliver):
    invoice = failed_renewal(sandbox)

    deliver()

    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert decision.trigger == Decision.Trigger.PAYMENT_FAILED
    assert decision.mode == "shadow"  # a new installation watches first
    assert decision.model_version == "rules and the prior v1 (no trained model)"
    assert "what is known about when cards recover" in decision.reasoning
    assert decision.features["decline"]["decline_code"]
    kinds = [a.kind for a in decision.actions.order_by("pk")]
    assert kinds[:2] == [ActionKind.TAKE_OVER, ActionKind.RETRY]
    made = AuditEntry.objects.get(action="decision.made", object_id=str(decision.pk))
    assert made.data["model_version"] == decision.model_version
    assert made.data["inputs"]["recovery_features"]["decline_code"]
    assert made.data["reasoning"] == decision.reasoning
    assert audit_verify()[1] is None


def test_deciding_twice_about_one_event_keeps_the_first_decision(sandbox, deliver):
    invoice = failed_renewal(sandbox)
    deliver()
    event = ChargebeeEvent.objects.get(event_type="payment_failed")

    decide_for_event_job(event.pk)
    decide_for_event_job(event.pk)

    assert Decision.objects.filter(invoice_id=invoice["id"]).count() == 1


def test_backfilled_history_does_not_decide_but_open_invoices_are_reviewed_once(sandbox):
    invoice = failed_renewal(sandbox)
    stored = events_store_bulk(payloads=list(sandbox.events), via=ReceivedVia.BACKFILL)
    events_process_batch(event_pks=[e.pk for e in stored], loaded=stored)
    failed = ChargebeeEvent.objects.get(event_type="payment_failed")

    assert decisions_for_event(event_pk=failed.pk) == []
    assert decisions_for_open_invoices() == 1
    assert decisions_for_open_invoices() == 0
    assert Decision.objects.get().invoice_id == invoice["id"]


def test_a_payment_arriving_cancels_what_has_not_run_yet(sandbox, deliver, admin_user):
    guardrails_update(changes={"default_mode": "auto"}, user=admin_user, note="go live")
    invoice = failed_renewal(sandbox)
    deliver()
    kept = Action.objects.get(invoice_id=invoice["id"], kind=ActionKind.TAKE_OVER)
    assert kept.state == ActionState.EXECUTED  # Chargebee's dunning handed over at once
    tomorrow = Action.objects.get(invoice_id=invoice["id"], kind=ActionKind.RETRY)
    assert tomorrow.state == ActionState.SCHEDULED and tomorrow.scheduled_for > timezone.now()

    sandbox.behaviours[next(iter(sandbox.payment_sources))] = ["succeed"]
    sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
    deliver()

    tomorrow.refresh_from_db()
    kept.refresh_from_db()
    assert tomorrow.state == ActionState.CANCELLED
    assert tomorrow.result == {"cancelled": "the invoice was paid"}
    assert kept.state == ActionState.EXECUTED  # what has run stays as it was


def test_a_decision_replayed_later_sees_only_what_was_known_then(sandbox, deliver, monkeypatch):
    invoice_data = failed_renewal(sandbox)
    deliver()
    decision = Decision.objects.get()
    invoice = Invoice.objects.get(cb_id=invoice_data["id"])
    before = decision_context_build(invoice=invoice, at=decision.as_of, trigger="replay")

    monkeypatch.setattr(sandbox, "clock", lambda: time.time() + 3600)  # paid an hour later
    sandbox.behaviours[next(iter(sandbox.payment_sources))] = ["succeed"]
    sandbox.charge(invoice_id=invoice_data["id"], source="scheduled_job")
    deliver()
    invoice.refresh_from_db()
    replayed = decision_context_build(invoice=invoice, at=decision.as_of, trigger="replay")

    assert invoice.status == "paid"
    assert asdict(replayed) == asdict(before)


@pytest.fixture
def proposed(sandbox, deliver, admin_user):
    """A retry-less decision in approve mode: its message action waits for a person."""
    guardrails_update(changes={"default_mode": "approve"}, user=admin_user, note="approve all")
    invoice = failed_renewal(sandbox, behaviour=("expired_card",))
    deliver()
    links = Action.objects.filter(invoice_id=invoice["id"], kind=ActionKind.PAYMENT_METHOD_LINK)
    return links.order_by("scheduled_for").first()  # the link now; a reminder follows later


def test_manager_approves_exactly_what_was_shown_and_it_is_scheduled(proposed, manager):
    shown = action_fingerprint(proposed)

    action_approve(action=proposed, user=manager, fingerprint=shown)

    proposed.refresh_from_db()
    assert (proposed.state, proposed.decided_by) == (ActionState.SCHEDULED, manager)
    assert list(
        AuditEntry.objects.filter(object_type="dunning.action", object_id=str(proposed.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["action.proposed", "action.approved", "action.scheduled"]


def test_an_action_changed_after_it_was_shown_must_be_approved_again(proposed, manager):
    shown = action_fingerprint(proposed)
    Action.objects.filter(pk=proposed.pk).update(channel="sms")
    proposed.refresh_from_db()

    with pytest.raises(ApprovalOutdated):
        action_approve(action=proposed, user=manager, fingerprint=shown)
    proposed.refresh_from_db()
    assert proposed.state == ActionState.PROPOSED


def test_agent_cannot_approve_a_high_risk_action(proposed, agent):
    Action.objects.filter(pk=proposed.pk).update(risk=Action.Risk.HIGH)
    proposed.refresh_from_db()

    with pytest.raises(PermissionDenied, match="need a manager"):
        action_approve(action=proposed, user=agent, fingerprint=action_fingerprint(proposed))


def test_agent_approves_a_low_risk_action(proposed, agent):
    action_approve(action=proposed, user=agent, fingerprint=action_fingerprint(proposed))

    assert proposed.state == ActionState.SCHEDULED


def test_a_second_approval_of_the_same_action_is_refused(proposed, manager, agent):
    shown = action_fingerprint(proposed)
    stale_copy = Action.objects.get(pk=proposed.pk)
    action_approve(action=proposed, user=manager, fingerprint=shown)

    with pytest.raises(ActionConflict):
        action_approve(action=stale_copy, user=agent, fingerprint=shown)


def test_rejecting_needs_a_reason(proposed, manager):
    with pytest.raises(ValueError, match="say why"):
        action_reject(action=proposed, user=manager, reason="  ")

    action_reject(action=proposed, user=manager, reason="customer is on a call with sales")
    proposed.refresh_from_db()
    assert proposed.state == ActionState.REJECTED


def test_cancelling_a_subscription_is_never_scheduled_without_a_manager(sandbox, admin_user, agent):
    guardrails_update(changes={"default_mode": "auto", "max_retries": 0}, user=admin_user)
    invoice = failed_renewal(sandbox)
    from dunning.sync.ingest import event_store
    from dunning.sync.processing import event_process

    for payload in sandbox.events:
        event_process(event_pk=event_store(payload=payload).event.pk)
    decision = decision_make(invoice_id=invoice["id"], trigger="manual", at=timezone.now())
    assert decision.mode == "auto"

    cancel = decision.actions.get(kind=ActionKind.CANCEL_SUBSCRIPTION)
    assert (cancel.state, cancel.needs_approval) == (ActionState.PROPOSED, True)
    with pytest.raises(PermissionDenied):
        action_approve(action=cancel, user=agent, fingerprint=action_fingerprint(cancel))


def test_a_decision_lost_to_a_redis_outage_is_made_by_the_relay(
    sandbox, post_webhook, django_capture_on_commit_callbacks, run_jobs, redis_outage
):
    invoice = failed_renewal(sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        for event in sandbox.events:
            assert post_webhook(event).status_code == 200  # stored; the enqueue is lost
        events_process_due()  # processed in-process; the decision's enqueue is lost too
    redis_outage.end()
    assert not Decision.objects.exists()

    ChargebeeEvent.objects.update(processed_at=timezone.now() - timedelta(minutes=5))
    assert decisions_relay() == 1
    run_jobs()

    assert Decision.objects.get().invoice_id == invoice["id"]
    assert decisions_relay() == 0


def test_a_decision_about_an_invoice_paid_while_it_was_deciding_plans_nothing_live(
    sandbox, deliver, admin_user, monkeypatch
):
    """A late payment_failed decision whose invoice was paid meanwhile (its context built
    before the payment reached the mirror) leaves nothing to run against a paid invoice."""
    guardrails_update(changes={"default_mode": "auto"}, user=admin_user, note="go live")
    invoice_data = failed_renewal(sandbox)
    deliver()
    invoice = Invoice.objects.get(cb_id=invoice_data["id"])
    failed_at = Decision.objects.get().as_of
    build = decision_context_build

    def built_then_paid(**kwargs):
        context = build(**kwargs)  # the invoice was due when the context was read...
        Invoice.objects.filter(pk=invoice.pk).update(status="paid", paid_at=timezone.now())
        return context  # ...and paid before the decision is recorded

    monkeypatch.setattr("dunning.pipeline.decide.decision_context_build", built_then_paid)
    decision = decision_make(invoice_id=invoice.cb_id, trigger="payment_failed", at=failed_at)

    assert not decision.actions.exclude(state=ActionState.CANCELLED).exists()
    assert "paid" in decision.reasoning
    assert not Action.objects.filter(
        invoice_id=invoice.cb_id, state__in=(ActionState.SCHEDULED, ActionState.APPROVED)
    ).exists()
