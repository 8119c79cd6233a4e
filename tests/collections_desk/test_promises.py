"""Promises to pay: Dunwell holds its retries and messages until the promised day; a broken
promise puts the case back in the queue, higher, and Dunwell's dunning resumes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from collections_desk.models import Case, CaseState, PromiseToPay
from collections_desk.promises import promise_day_end
from dunning.actions.execution.executor import Outcome, action_run
from dunning.actions.state_machine import action_fingerprint
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.decisions.rules.holds import invoice_hold_active
from dunning.models import Action, ActionState, AuditEntry, Decision, Invoice
from dunning.pipeline.decide import decision_make
from dunning.pipeline.jobs import promises_check_job
from dunning.pipeline.promises import promises_check
from tests.collections_desk.conftest import case_for
from tests.dunning.actions.execution.conftest import propose

pytestmark = pytest.mark.django_db


def promise(client, case, *, amount="49.00", days=3):
    day = timezone.now().date() + timedelta(days=days)
    return client.post(
        f"/collections/cases/{case.pk}/promise/",
        {"invoice": "inv_1", "amount": amount, "promised_for": day.isoformat()},
    )


def test_a_promise_holds_dunwells_pending_messages_and_leaves_the_working_queue(
    client, general_case, agent
):
    waiting = list(Action.objects.filter(invoice_id="inv_1", state=ActionState.PROPOSED))
    assert waiting  # the payment-method link and its reminder
    client.force_login(agent)

    response = promise(client, general_case)

    assert response.status_code == 302
    general_case.refresh_from_db()
    assert general_case.state == CaseState.PROMISED
    for action in waiting:
        action.refresh_from_db()
        assert action.state == ActionState.CANCELLED
        assert action.result["cancelled"].startswith("held: the customer promised to pay 49.00")
    queue = client.get("/collections/").content.decode()
    assert f"/collections/cases/{general_case.pk}/" not in queue
    promised = client.get("/collections/", {"state": "promised"}).content.decode()
    assert f"/collections/cases/{general_case.pk}/" in promised
    page = client.get(f"/collections/cases/{general_case.pk}/").content.decode()
    assert "Dunwell sends no retry or message on this invoice until the end of that day" in page


def test_a_decision_during_the_promise_proposes_nothing_and_says_why(client, general_case, agent):
    client.force_login(agent)
    promise(client, general_case)

    decision = decision_make(invoice_id="inv_1", trigger="payment_failed", at=timezone.now())

    assert not decision.actions.exists()
    assert decision.reasoning.startswith("Held until ")
    assert "No retry and no message until then." in decision.reasoning


def test_a_retry_scheduled_before_the_promise_waits_for_its_end(client, general_case, agent):
    guardrails_update(changes={"default_mode": "auto"}, user=None)
    client.force_login(agent)
    promise(client, general_case)
    invoice = Invoice.objects.get(cb_id="inv_1")
    retry = propose(invoice, "retry", mode="auto")
    Action.objects.filter(pk=retry.pk).update(state=ActionState.SCHEDULED)

    outcome = action_run(action_id=retry.pk)

    retry.refresh_from_db()
    assert outcome == Outcome.DEFERRED
    assert retry.next_attempt_at == PromiseToPay.objects.get().hold.until
    assert retry.last_error.startswith("held: the customer promised to pay")


def test_a_broken_promise_reopens_the_case_higher_and_dunning_resumes(client, general_case, agent):
    client.force_login(agent)
    before = Case.objects.get(pk=general_case.pk).priority
    promise(client, general_case, days=0)
    made = PromiseToPay.objects.get()
    after_the_day = promise_day_end(made.promised_for) + timedelta(minutes=1)

    first = promises_check(now=after_the_day)
    again = promises_check(now=after_the_day)

    assert (first.broken, again.broken) == (1, 0)
    case = Case.objects.get(pk=general_case.pk)
    assert case.state == CaseState.OPEN and case.promise_broken_at is not None
    assert case.priority > before
    made.refresh_from_db()
    assert made.status == PromiseToPay.Status.BROKEN
    assert invoice_hold_active(invoice_id="inv_1", at=timezone.now()) is None
    assert AuditEntry.objects.filter(action="case.promise_broken").count() == 1
    assert Decision.objects.filter(invoice_id="inv_1", trigger="open_invoice").count() == 1
    queue = client.get("/collections/").content.decode()
    assert "promise broken" in queue


def test_a_promise_paid_by_its_day_is_kept_and_the_case_stays_closed_to_the_queue(
    client, general_case, agent
):
    client.force_login(agent)
    promise(client, general_case, amount="20.00")
    Invoice.objects.filter(cb_id="inv_1").update(amount_paid=2000, amount_due=2900)

    checked = promises_check_job()

    assert checked == {"kept": 1, "broken": 0}
    assert PromiseToPay.objects.get().status == PromiseToPay.Status.KEPT
    assert Case.objects.get(pk=general_case.pk).promise_broken_at is None


def test_a_promise_above_what_is_due_is_refused_with_the_reason(client, general_case, agent):
    client.force_login(agent)

    response = promise(client, general_case, amount="60.00")

    assert response.status_code == 409
    assert "at most the 49.00 EUR due" in response.content.decode()
    assert not PromiseToPay.objects.exists()


def test_an_agent_of_another_team_cannot_record_a_promise(client, approve_mode, teams, other_agent):
    case = case_for(1)
    client.force_login(other_agent)

    assert promise(client, case).status_code == 404
    assert not PromiseToPay.objects.exists()


def test_what_a_person_asks_for_during_the_promise_is_not_held(
    client, general_case, agent, manager, sandbox
):
    client.force_login(agent)
    promise(client, general_case)
    invoice = Invoice.objects.get(cb_id="inv_1")
    collect = propose(invoice, "retry", params={"amount": 4900})
    Decision.objects.filter(pk=collect.decision_id).update(trigger="manual")
    Action.objects.filter(pk=collect.pk).update(
        state=ActionState.SCHEDULED, decided_by=manager, needs_approval=False
    )
    collect.refresh_from_db()
    Action.objects.filter(pk=collect.pk).update(approved_fingerprint=action_fingerprint(collect))

    action_run(action_id=collect.pk)

    # It went to Chargebee (the sandbox knows no inv_1 and says so) instead of waiting.
    assert ("POST", "/api/v2/invoices/inv_1/collect_payment") in sandbox.request_log
