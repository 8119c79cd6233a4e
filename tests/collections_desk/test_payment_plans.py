"""Payment plans: an agent proposes instalments, a manager approves, Dunwell writes them to
Chargebee (the sandbox, through the SDK) and follows each instalment on the case."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from collections_desk.jobs import payment_plans_track_job
from collections_desk.models import Case, PaymentPlan
from dunning.actions.state_machine import action_approve, action_fingerprint, action_reject
from dunning.decisions.rules.holds import invoice_hold_active
from dunning.models import ActionState
from dunning.pipeline.decide import decision_make
from tests.conftest import failed_renewal
from tests.dunning.actions.execution.conftest import approve, live, mirror_from_sandbox, work  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana(sandbox, live, teams):  # noqa: F811
    """Ana's 120.00 USD renewal was declined as a stolen card: a link waits for approval,
    so her case is on the general team's queue."""
    invoice = failed_renewal(sandbox, behaviour=("lost_or_stolen",), price=12_000)
    mirrored = mirror_from_sandbox(sandbox, invoice["id"])
    decision_make(invoice_id=mirrored.cb_id, trigger="payment_failed", at=timezone.now())
    return Case.objects.get(customer_id=mirrored.customer_id), mirrored


def propose(client, case, invoice, **overrides):
    data = {"invoice": invoice.cb_id, "instalments": "3", "period": "1", "unit": "month"}
    return client.post(f"/collections/cases/{case.pk}/payment-plan/", {**data, **overrides})


def test_agent_proposes_a_plan_that_waits_for_a_manager(client, ana, agent):
    case, invoice = ana
    client.force_login(agent)

    response = propose(client, case, invoice)

    assert response.status_code == 302
    plan = PaymentPlan.objects.get(case=case)
    assert (plan.status, plan.instalments, plan.amount) == ("proposed", 3, 12_000)
    assert plan.action.state == ActionState.PROPOSED and plan.action.risk == "high"
    assert "40.00; " in plan.action.reasoning and "120.00 USD due" in plan.action.reasoning
    with pytest.raises(PermissionDenied, match="need a manager"):
        action_approve(action=plan.action, user=agent, fingerprint=action_fingerprint(plan.action))
    page = client.get(f"/collections/cases/{case.pk}/").content.decode()
    assert "Waiting for a manager&#x27;s approval" in page


def test_approved_plan_is_written_to_chargebee_and_each_instalment_followed(
    client,
    ana,
    agent,
    manager,
    sandbox,
    approve,  # noqa: F811
    work,  # noqa: F811
):
    case, invoice = ana
    client.force_login(agent)
    propose(client, case, invoice)
    plan = PaymentPlan.objects.get(case=case)

    approve(plan.action, manager)
    work()
    payment_plans_track_job()

    plan.refresh_from_db()
    assert plan.action.state == ActionState.EXECUTED
    [schedule] = sandbox.payment_schedules.values()
    assert (schedule["entity_id"], schedule["amount"]) == (invoice.cb_id, 12_000)
    assert plan.status == "active" and plan.schedule_id == schedule["id"]
    assert [(e.number, e.amount, e.status) for e in plan.entries.all()] == [
        (1, 4000, "payment_due"),
        (2, 4000, "posted"),
        (3, 4000, "posted"),
    ]
    hold = invoice_hold_active(invoice_id=invoice.cb_id, at=timezone.now())
    assert hold is not None and hold.kind == "payment_plan"

    sandbox.record_payment(invoice_id=invoice.cb_id, amount=4000, payment_method="cash")
    payment_plans_track_job()
    payment_plans_track_job()  # twice: nothing more changes

    assert [e.status for e in plan.entries.all()] == ["paid", "posted", "posted"]
    assert plan.entries.count() == 3
    page = client.get(f"/collections/cases/{case.pk}/").content.decode()
    assert "Paid" in page and "Scheduled" in page


def test_a_rejected_plan_ends_and_chargebee_is_never_asked(client, ana, agent, manager, sandbox):
    case, invoice = ana
    client.force_login(agent)
    propose(client, case, invoice)
    plan = PaymentPlan.objects.get(case=case)
    action_reject(action=plan.action, user=manager, reason="ask for a transfer instead")
    payment_plans_track_job()

    plan.refresh_from_db()
    assert plan.status == "rejected"
    assert not sandbox.payment_schedule_schemes


def test_more_instalments_than_chargebee_allows_is_refused_with_the_reason(client, ana, agent):
    case, invoice = ana
    client.force_login(agent)

    response = propose(client, case, invoice, instalments="13")

    assert response.status_code == 409
    assert "between 2 and 12 instalments by month" in response.content.decode()
    assert not PaymentPlan.objects.exists()
