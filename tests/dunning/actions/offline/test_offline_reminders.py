"""Offline payers (auto_collection off): a reminder sequence instead of retries.

From a real invoice_generated webhook of the sandbox, through processing, the SDK (the
customer is read from Chargebee), the decision engine and the action state machine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from collections_desk.models import Case
from collections_desk.queries import awaiting_approval
from dunning.actions.state_machine import action_approve, action_fingerprint
from dunning.decisions.policy_settings.offline_reminders import (
    OFFLINE_REMINDERS,
    OfflineSchedule,
    offline_steps_plan,
)
from dunning.governance.config_versions import config_current, config_update
from dunning.models import Action, ActionKind, ActionState, Decision, OutboundMessage
from dunning.pipeline.triggers import decisions_for_open_invoices
from tests.dunning.decisions.delivery import events_of

pytestmark = pytest.mark.django_db

STEPS = ["due", "reminder_7", "reminder_14", "final"]


def reminders(invoice_id: str):
    return Action.objects.filter(invoice_id=invoice_id, params__has_key="offline_step").order_by(
        "scheduled_for"
    )


def due_of(invoice: dict) -> datetime:
    return datetime.fromtimestamp(invoice["due_date"], tz=UTC)


def test_offline_invoice_gets_reminders_at_due_plus_7_plus_14_and_a_final_notice(
    offline_invoice, mode, sandbox
):
    mode("approve")
    invoice = offline_invoice()

    planned = list(reminders(invoice["id"]))
    assert [a.params["offline_step"] for a in planned] == STEPS
    due = due_of(invoice)
    offsets = [round((a.scheduled_for - due) / timedelta(days=1)) for a in planned]
    assert offsets == [0, 7, 14, 21]
    assert {a.kind for a in planned} == {ActionKind.MESSAGE}
    assert [a.params["template"] for a in planned] == [
        "offline_due",
        "offline_follow_up",
        "offline_second_follow_up",
        "offline_final_notice",
    ]
    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert decision.trigger == Decision.Trigger.DUNNING_STARTED
    assert "Offline payer: no card retry" in decision.reasoning
    # The mirror knew the customer only by id: Dunwell asked Chargebee through the SDK.
    assert ("GET", f"/api/v2/customers/{invoice['customer_id']}") in sandbox.request_log


def test_an_offline_invoice_is_never_retried_or_taken_over(offline_invoice, mode, sandbox):
    mode("auto")
    invoice = offline_invoice()
    decisions_for_open_invoices()  # the demo's catch-up after a backfill decides again

    kinds = set(Action.objects.filter(invoice_id=invoice["id"]).values_list("kind", flat=True))
    assert kinds == {ActionKind.MESSAGE}
    assert not [t for t in sandbox.transactions.values() if t.get("payment_source_id")]


def test_duplicate_and_repeated_events_plan_no_second_reminder(
    offline_invoice, mode, deliver, wall_clock
):
    mode("approve")
    invoice = offline_invoice()
    generated = events_of(wall_clock, "invoice_generated")[-1]

    deliver(generated)  # Chargebee delivers the same event again
    wall_clock.emit("invoice_updated", "scheduled_job", invoice=wall_clock.invoices[invoice["id"]])
    deliver(events_of(wall_clock, "invoice_updated")[-1])  # another event, same invoice
    decisions_for_open_invoices()

    assert Decision.objects.filter(invoice_id=invoice["id"]).count() == 2
    live = reminders(invoice["id"]).exclude(state=ActionState.CANCELLED)
    assert sorted(a.params["offline_step"] for a in live) == sorted(STEPS)
    assert reminders(invoice["id"]).count() == 4  # none cancelled and planned again


def test_shadow_mode_only_logs_the_sequence(offline_invoice):
    invoice = offline_invoice()  # a new installation is in shadow mode everywhere

    planned = list(reminders(invoice["id"]))
    assert len(planned) == 4
    assert {(a.mode, a.state) for a in planned} == {("shadow", ActionState.PROPOSED)}
    assert not awaiting_approval().filter(invoice_id=invoice["id"]).exists()
    assert not Case.objects.exists()


def test_auto_mode_sends_the_due_reminder_but_the_final_notice_waits_for_a_manager(
    offline_invoice, mode, agent, manager, settings, work, django_capture_on_commit_callbacks
):
    settings.QUIET_HOURS = ""
    mode("auto")
    invoice = offline_invoice()
    due, follow_up, _, final = reminders(invoice["id"])

    assert due.state == ActionState.EXECUTED  # sent by the worker as the webhook was handled
    assert follow_up.state == ActionState.SCHEDULED  # for its day, a week later
    assert (final.state, final.needs_approval, final.risk) == (ActionState.PROPOSED, True, "high")
    assert "will be cancelled" in final.params["next_step"]  # the end-of-dunning settings
    with pytest.raises(PermissionDenied, match="need a manager"):
        action_approve(action=final, user=agent, fingerprint=action_fingerprint(final))
    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=final, user=manager, fingerprint=action_fingerprint(final))
    final.refresh_from_db()
    assert final.state == ActionState.SCHEDULED  # and it runs on its day, not now

    work()
    message = OutboundMessage.objects.get(action=due)
    assert message.purpose == "offline_due"
    assert "bank transfer" in message.body and "/pages/" in message.body  # the invoice link
    assert not OutboundMessage.objects.filter(action=final).exists()


def test_the_final_notice_says_what_happens_next(offline_invoice, mode, settings, work):
    settings.QUIET_HOURS = ""
    settings.DUNWELL_END_OF_DUNNING = {"subscription": "keep", "invoice": "write_off"}
    mode("auto")
    invoice = offline_invoice()
    final = reminders(invoice["id"]).get(params__offline_step="final")

    assert "closed for non-payment" in final.params["next_step"]


def test_an_admin_changes_the_reminder_days_as_a_versioned_setting(
    offline_invoice, mode, admin_user, agent
):
    config_update(
        kind=OFFLINE_REMINDERS,
        user=admin_user,
        note="net terms are longer here",
        data={
            **config_current(kind=OFFLINE_REMINDERS),
            "reminder_7": 10,
            "reminder_14": 20,
            "final": 30,
        },
    )
    with pytest.raises(PermissionDenied):
        config_update(kind=OFFLINE_REMINDERS, user=agent, note="x", data={"due": 1})
    mode("approve")
    invoice = offline_invoice()

    offsets = [
        round((a.scheduled_for - due_of(invoice)) / timedelta(days=1))
        for a in reminders(invoice["id"])
    ]
    assert offsets == [0, 10, 20, 30]


def test_an_invoice_found_overdue_gets_only_the_latest_missed_reminder_and_the_rest():
    due = datetime(2026, 11, 1, 9, tzinfo=UTC)
    at = due + timedelta(days=16)

    planned, skipped = offline_steps_plan(
        due_at=due, at=at, schedule=OfflineSchedule(), taken=frozenset()
    )

    assert [(p.step, p.at) for p in planned] == [
        ("reminder_14", at),
        ("final", due + timedelta(days=21)),
    ]
    assert skipped == ["due", "reminder_7"]
    later, _ = offline_steps_plan(
        due_at=due,
        at=at + timedelta(days=1),
        schedule=OfflineSchedule(),
        taken=frozenset({"reminder_14", "final"}),
    )
    assert later == []  # nothing before a step already taken comes back
