"""Approved actions happen exactly once, at their time, over the real SDK and sandbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dunning.actions.execution import executor
from dunning.actions.execution.enqueue import action_job_id
from dunning.actions.execution.executor import Outcome, action_claim, action_run
from dunning.actions.execution.jobs import run_action_job
from dunning.actions.execution.sweep import actions_sweep
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.helpers.queueing import get_queue
from dunning.models import ActionKind, ActionState, AuditEntry, GatewayPause
from tests.dunning.actions.execution.conftest import (
    charges_on,
    mirror_from_sandbox,
    propose,
    time_passes,
)

pytestmark = pytest.mark.django_db


def test_an_approved_retry_runs_at_its_time_and_charges_once_even_when_run_twice(
    sandbox, renewal, manager, approve, work
):
    retry = propose(renewal, ActionKind.RETRY, at=timezone.now() + timedelta(seconds=2))
    approve(retry, manager)
    queue = get_queue("actions")
    job_id = action_job_id(action_id=retry.pk, attempts=0)
    assert job_id in queue.scheduled_job_registry.get_job_ids()

    work(scheduler=True)  # not yet its time
    retry.refresh_from_db()
    assert retry.state == ActionState.SCHEDULED and charges_on(sandbox, renewal.cb_id) == []

    time.sleep(max(0.0, (retry.scheduled_for - timezone.now()).total_seconds()) + 1)
    work(scheduler=True)
    queue.enqueue(run_action_job, retry.pk)  # a duplicate job, as after a Redis failover
    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.EXECUTED
    assert retry.result["charged"] is True and retry.result["invoice_status"] == "paid"
    assert len(charges_on(sandbox, renewal.cb_id)) == 1
    renewal.refresh_from_db()
    assert renewal.status == "paid"  # the mirror shows it without waiting for the webhook
    comment = sandbox.comments[-1]
    assert comment["entity_id"] == renewal.cb_id
    assert comment["notes"].startswith("Dunwell: retry scheduled for ")
    assert "because Tuesday after payday" in comment["notes"]


def test_two_workers_claim_one_action_once(renewal, manager, approve):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    now = timezone.now()

    first = action_claim(action_id=retry.pk, now=now)
    second = action_claim(action_id=retry.pk, now=now)

    assert first is not None and second is None


def test_a_payment_arriving_meanwhile_cancels_the_retry(sandbox, renewal, manager, approve, work):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)  # due now: its job is on the queue
    sandbox.record_payment(invoice_id=renewal.cb_id, amount=4900, payment_method="bank_transfer")
    mirror_from_sandbox(sandbox, renewal.cb_id)  # the payment_succeeded webhook, processed

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.CANCELLED
    assert retry.result == {"cancelled": "the invoice was paid meanwhile"}
    assert ("POST", f"/api/v2/invoices/{renewal.cb_id}/collect_payment") not in sandbox.request_log


def test_a_rate_limit_storm_delays_the_retry_but_loses_nothing(
    sandbox, renewal, manager, approve, work
):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    sandbox.inject_failures(status=429, count=12, retry_after=0)

    work()  # five 429s: put back for later
    retry.refresh_from_db()
    assert (retry.state, retry.attempts) == (ActionState.SCHEDULED, 1)
    assert retry.next_attempt_at > timezone.now() and "429" in retry.last_error
    assert actions_sweep() == 0  # not due again yet

    for _ in range(2):
        time_passes(retry, by=timedelta(hours=1))
        assert actions_sweep() == 1
        work()

    retry.refresh_from_db()
    assert (retry.state, retry.attempts) == (ActionState.EXECUTED, 3)
    assert len(charges_on(sandbox, renewal.cb_id)) == 1
    deferrals = AuditEntry.objects.filter(action="action.deferred", object_id=str(retry.pk))
    assert deferrals.count() == 2


def test_chargebee_refusing_fails_the_action_with_its_message(
    sandbox, live, manager, approve, work
):
    customer = sandbox.create_customer(first_name="Bo", last_name="Card", email="bo@x.test")
    subscription = sandbox.create_subscription(
        customer_id=customer["id"], plan_id="pro-USD-monthly", unit_price=4900
    )
    invoice = sandbox.create_invoice(subscription_id=subscription["id"])  # no card on file
    retry = propose(mirror_from_sandbox(sandbox, invoice["id"]), ActionKind.RETRY)
    approve(retry, manager)

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.FAILED
    assert retry.result["error"] == "No payment method is present for this customer"
    assert retry.result["http_status"] == 400


def test_a_declined_retry_is_executed_with_the_decline_in_its_result(
    sandbox, renewal, manager, approve, work
):
    sandbox.behaviours[renewal.customer.primary_payment_source_id] = ["do_not_honor"]
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.EXECUTED
    assert retry.result["charged"] is False
    assert "Do not honor" in retry.result["declined"]


def test_an_agents_approval_no_longer_counts_once_the_agent_lost_the_permission(
    sandbox, renewal, agent, approve, work
):
    from collections_desk.cases import cases_sync_for_decision
    from collections_desk.teams import team_create, team_member_add

    team_member_add(team=team_create(name="Everyone"), user=agent)
    retry = propose(renewal, ActionKind.RETRY)
    cases_sync_for_decision(decision=retry.decision)  # the case lands in the agent's team
    approve(retry, agent)  # low risk, own team's case: an agent may
    agent.groups.clear()  # moved out of collections (and out of the team)

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.PROPOSED and retry.decided_by is None
    assert "alice.agent's approval no longer counts" in retry.approval_reason
    assert charges_on(sandbox, renewal.cb_id) == []


def test_shadow_actions_never_execute(sandbox, renewal, work):
    shadow = propose(renewal, ActionKind.RETRY, mode="shadow")
    # Even forced into "scheduled" (a bug, a hand edit), nothing picks it up.
    type(shadow).objects.filter(pk=shadow.pk).update(state=ActionState.SCHEDULED)

    assert actions_sweep() == 0
    assert action_run(action_id=shadow.pk) == Outcome.NOT_CLAIMED
    work()
    assert charges_on(sandbox, renewal.cb_id) == []


def test_a_segment_back_in_shadow_mode_cancels_what_was_approved(
    sandbox, renewal, manager, admin_user, approve, work
):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    guardrails_update(changes={"default_mode": "shadow"}, user=admin_user, note="pause")

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.CANCELLED
    assert "shadow mode" in retry.result["cancelled"]
    assert charges_on(sandbox, renewal.cb_id) == []


class WorkerKilled(BaseException):
    """The worker process dies (nothing of ours runs after it, as after SIGKILL)."""


def test_a_worker_dying_after_chargebee_answered_is_replayed_not_charged_twice(
    sandbox, renewal, manager, approve, work, monkeypatch
):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    # Fault injection: the process dies between Chargebee's answer and our commit.
    monkeypatch.setattr(executor, "_finish", lambda **kw: (_ for _ in ()).throw(WorkerKilled()))
    with pytest.raises(WorkerKilled):
        action_run(action_id=retry.pk)
    monkeypatch.undo()
    retry.refresh_from_db()
    assert retry.state == ActionState.SCHEDULED and retry.claimed_at is not None
    assert len(charges_on(sandbox, renewal.cb_id)) == 1
    assert actions_sweep() == 0  # its worker may still be alive

    time_passes(retry, by=executor.CLAIM_TIMEOUT + timedelta(minutes=1))
    assert actions_sweep() == 1
    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.EXECUTED
    assert retry.result["replayed"] is True and retry.attempts == 2
    assert len(charges_on(sandbox, renewal.cb_id)) == 1


def test_taking_over_pauses_chargebees_dunning_with_the_reasoning(
    sandbox, renewal, manager, approve, work
):
    take_over = propose(renewal, ActionKind.TAKE_OVER)
    approve(take_over, manager)

    work()

    take_over.refresh_from_db()
    assert take_over.state == ActionState.EXECUTED and take_over.result["dunning"] == "paused"
    in_chargebee = sandbox.invoices[renewal.cb_id]
    assert (in_chargebee["dunning_status"], "expected_payment_date" in in_chargebee) == (
        "in_progress",
        True,
    )
    assert sandbox.comments[-1]["notes"].startswith("Dunwell takes over the retries")
    renewal.refresh_from_db()
    assert renewal.dunning_status == "in_progress"
    assert renewal.expected_payment_date > timezone.now()


def test_taking_over_a_dunning_already_paused_asks_chargebee_nothing(
    sandbox, renewal, manager, approve, work
):
    first = propose(renewal, ActionKind.TAKE_OVER)
    approve(first, manager)
    work()
    second = propose(renewal, ActionKind.TAKE_OVER)
    approve(second, manager)
    pauses_before = [p for _, p in sandbox.request_log if p.endswith("/pause_dunning")]

    work()

    second.refresh_from_db()
    assert (second.state, second.result["dunning"]) == (ActionState.EXECUTED, "already paused")
    assert [p for _, p in sandbox.request_log if p.endswith("/pause_dunning")] == pauses_before


def test_a_paused_gateway_postpones_the_retry(sandbox, renewal, manager, approve, work):
    GatewayPause.objects.create(gateway="stripe", started_at=timezone.now(), reason="down")
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.SCHEDULED
    assert retry.next_attempt_at > timezone.now() + timedelta(minutes=25)
    assert "paused" in retry.last_error
    assert charges_on(sandbox, renewal.cb_id) == []


def test_a_lost_job_is_found_by_the_sweep(sandbox, renewal, manager, approve, work):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    get_queue("actions").empty()  # Redis lost the job

    assert actions_sweep() == 1
    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.EXECUTED
