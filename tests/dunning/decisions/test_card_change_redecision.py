"""A customer's card changes while an invoice is in dunning: Dunwell decides again at once.

The re-decision withdraws what the old decision left waiting (retries, links, reminders,
a message whose send is waiting for its retry) and retries on the new card. With the
card updater, Dunwell finds the newer card itself: from the failed payment's webhook to the
collected invoice over the real SDK and the sandbox, without asking the customer.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dunning.actions.execution.executor import Outcome, action_run
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.governance.audit import audit_verify
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    Decision,
    Invoice,
    OutboundMessage,
    PaymentSource,
)
from dunning.pipeline.decide import decision_make
from sandbox.card_updater import network_knows
from tests.conftest import failed_renewal
from tests.dunning.decided import FAILED_AT, decided_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def auto(admin_user):
    return guardrails_update(changes={"default_mode": "auto"}, user=admin_user, note="go live")


def test_a_new_card_withdraws_the_old_links_reminders_and_unsent_message_and_retries_on_it(auto):
    first = decided_invoice(1, decline_code="54")  # expired: the customer is asked for a card
    link, reminder = first.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).order_by(
        "scheduled_for"
    )
    assert (link.state, reminder.state) == (ActionState.SCHEDULED, ActionState.SCHEDULED)
    # The link's email failed at the provider and waits for its retry.
    unsent = OutboundMessage.objects.create(
        action=link,
        customer_id="cus_1",
        invoice_id="inv_1",
        channel="email",
        purpose="payment_method_update",
        recipient="ana@x.test",
        body="...",
        drafter="builtin",
        status=OutboundMessage.Status.FAILED,
        error="smtp 451",
    )
    changed_at = FAILED_AT + timedelta(hours=2)
    PaymentSource.objects.filter(cb_id="pm_1").update(
        cb_updated_at=changed_at, card_last4="1881", resource_version=2
    )

    again = decision_make(
        invoice_id="inv_1", trigger=Decision.Trigger.PAYMENT_METHOD_CHANGED, at=changed_at
    )

    for old in (link, reminder):
        old.refresh_from_db()
        assert old.state == ActionState.CANCELLED
        assert old.result == {"cancelled": "superseded by a newer decision"}
    unsent.refresh_from_db()
    assert unsent.status == OutboundMessage.Status.WITHDRAWN
    retry = again.actions.get(kind=ActionKind.RETRY)
    assert retry.state == ActionState.SCHEDULED
    assert retry.scheduled_for == changed_at + timedelta(minutes=5)
    assert not again.actions.filter(kind__in=(ActionKind.MESSAGE, ActionKind.PAYMENT_METHOD_LINK))
    assert "on the new card" in again.reasoning
    assert again.explanation["superseded_actions"] == 2


@pytest.fixture
def deliver(sandbox, post_webhook, django_capture_on_commit_callbacks, run_jobs):
    """POST every sandbox event not yet delivered (or ``again``), then run what follows."""
    sent: set[str] = set()

    def run(*, again: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            for event in [e for e in sandbox.events if e["id"] not in sent] + (
                [again] if again else []
            ):
                assert post_webhook(event).status_code == 200
                sent.add(event["id"])
        while True:
            with django_capture_on_commit_callbacks(execute=True):
                if not run_jobs():
                    return

    return run


def card_charges(sandbox, invoice_id: str) -> list[str]:
    return [
        t["status"]
        for t in sandbox.transactions.values()
        if t["linked_invoices"][0]["invoice_id"] == invoice_id
    ]


def five_minutes_pass(action: Action) -> None:
    Action.objects.filter(pk=action.pk).update(scheduled_for=timezone.now())


def test_the_card_updater_finds_a_newer_card_and_the_invoice_is_collected_without_asking(
    sandbox, deliver, auto, monkeypatch
):
    monkeypatch.setattr(sandbox, "clock", lambda: time.time() - 30)  # declined just now
    invoice = failed_renewal(sandbox, behaviour=("expired_card",))
    card_id = sandbox.invoices[invoice["id"]]["linked_payments"][0]["txn_id"]
    card_id = sandbox.transactions[card_id]["payment_source_id"]
    network_knows(
        sandbox, payment_source_id=card_id, expiry_month=3, expiry_year=2031, last4="1881"
    )
    monkeypatch.setattr(sandbox, "clock", time.time)

    deliver()  # payment_failed -> decision -> the updater is asked -> the card is updated

    failed = Decision.objects.get(invoice_id=invoice["id"], trigger="payment_failed")
    assert failed.features["card_updater"]["outcome"] == "updated"
    assert "the card updater found a replacement card ending 1881" in failed.reasoning
    assert not failed.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).exists()
    made = AuditEntry.objects.get(action="decision.made", object_id=str(failed.pk))
    assert made.data["inputs"]["card_updater"]["reference"].startswith("au_")
    updated = [e for e in sandbox.events if e["event_type"] == "payment_source_updated"]
    assert updated[0]["source"] == "external_service"
    assert updated[0]["content"]["payment_source"]["card"]["last4"] == "1881"

    deliver()  # payment_source_updated -> decided again at once
    again = Decision.objects.get(invoice_id=invoice["id"], trigger="payment_method_changed")
    retry = again.actions.get(kind=ActionKind.RETRY)
    assert failed.actions.get(kind=ActionKind.RETRY).state == ActionState.CANCELLED
    assert retry.state == ActionState.SCHEDULED
    assert retry.scheduled_for <= timezone.now() + timedelta(minutes=5)

    deliver(again=updated[0])  # Chargebee delivers the same event twice
    assert Decision.objects.filter(invoice_id=invoice["id"]).count() == 2
    five_minutes_pass(retry)
    assert action_run(action_id=retry.pk, sleep=lambda s: None) == Outcome.EXECUTED
    assert action_run(action_id=retry.pk, sleep=lambda s: None) == Outcome.NOT_CLAIMED
    deliver()  # payment_succeeded

    assert card_charges(sandbox, invoice["id"]) == ["failure", "success"]  # one charge only
    assert Invoice.objects.get(cb_id=invoice["id"]).status == "paid"
    assert sandbox.invoices[invoice["id"]]["status"] == "paid"
    assert not Action.objects.filter(
        invoice_id=invoice["id"], state__in=(ActionState.SCHEDULED, ActionState.PROPOSED)
    ).exists()
    assert audit_verify()[1] is None


def test_a_closed_account_means_the_customer_is_asked_for_a_card(sandbox, deliver, auto):
    invoice = failed_renewal(sandbox, behaviour=("lost_or_stolen",))
    card_id = next(iter(sandbox.payment_sources))
    network_knows(sandbox, payment_source_id=card_id, closed=True)

    deliver()

    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert decision.features["card_updater"]["outcome"] == "closed"
    assert "account is closed" in decision.reasoning
    assert decision.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).exists()
    assert not [e for e in sandbox.events if e["event_type"] == "payment_source_updated"]
