"""A manager's card-update campaign goes the way of every action: guardrails, approval,
the hosted page, delivery. Over the sandbox, a real RQ worker and the real channels."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rq import SimpleWorker

from analytics.at_risk.campaigns import CampaignRefused, campaign_actions_create, campaign_launch
from analytics.models import CampaignMember
from dunning.actions.state_machine import action_approve, action_fingerprint
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.helpers.queueing import QUEUE_NAMES, get_queue, redis_connection
from dunning.models import ActionState, AutomationMode, Decision, OutboundMessage, Purpose
from tests.analytics.at_risk_data import month_before
from tests.dunning.actions.execution.conftest import mirror_from_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def work(django_capture_on_commit_callbacks):
    """Run the queues to empty with a real RQ worker (what a run schedules, too)."""

    def work() -> None:
        queues = [get_queue(name) for name in QUEUE_NAMES]
        for _ in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                SimpleWorker(queues, connection=redis_connection()).work(burst=True)
            if not sum(q.count for q in queues):
                return

    return work


@pytest.fixture
def expiring(sandbox, settings):
    """Bea renews in ten days on a card that expires the month before; her last renewal paid."""
    settings.QUIET_HOURS = ""  # whatever the hour the test runs at
    now = timezone.now()
    renewal = now + timedelta(days=10)
    month, year = month_before(renewal)
    customer = sandbox.create_customer(first_name="Bea", last_name="Test", email="bea@x.test")
    sandbox.add_card(customer_id=customer["id"], expiry_month=month, expiry_year=year)
    subscription = sandbox.create_subscription(
        customer_id=customer["id"],
        plan_id="pro-USD-monthly",
        unit_price=4900,
        term_start=int((now - timedelta(days=20)).timestamp()),
        term_end=int(renewal.timestamp()),
    )
    invoice = sandbox.create_invoice(subscription_id=subscription["id"])
    sandbox.charge(invoice_id=invoice["id"], source="scheduled_job")
    mirror_from_sandbox(sandbox, invoice["id"])
    return customer["id"]


def mode(admin_user, value: str):
    guardrails_update(changes={"default_mode": value, "segment_modes": {}}, user=admin_user)


def launch(manager, customer_id, capture, **kwargs):
    with capture(execute=True):  # scheduled runs are enqueued on commit
        return campaign_launch(
            user=manager,
            name="Expiring before renewal",
            within_days=30,
            customer_ids=[customer_id],
            holdout_share=0.0,
            **kwargs,
        )


def test_in_auto_mode_the_customer_gets_one_card_update_request_with_chargebees_link(
    sandbox, expiring, manager, admin_user, work, django_capture_on_commit_callbacks
):
    mode(admin_user, AutomationMode.AUTO)

    campaign = launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    member = CampaignMember.objects.get(campaign=campaign)
    assert member.group == CampaignMember.Group.TREATED and member.score > 0.6
    action = member.action
    action.refresh_from_db()
    assert action.state == ActionState.EXECUTED, (action.result, action.last_error)
    assert action.decision.trigger == Decision.Trigger.PRE_DUNNING
    assert "expires" in action.decision.reasoning
    [email] = mail.outbox
    [page] = sandbox.hosted_pages.values()
    assert page["kind"] == "update_payment_method" and page["url"] in email.body
    assert "Bea" in email.body and "expires before the renewal" in email.body
    assert "ending in 4242" not in email.subject and "{" not in email.body
    message = OutboundMessage.objects.get(action=action)
    assert message.purpose == Purpose.PRE_DUNNING_CARD_UPDATE and message.status == "sent"


def test_launching_again_or_rerunning_the_jobs_sends_nothing_more(
    sandbox, expiring, manager, admin_user, work, django_capture_on_commit_callbacks
):
    mode(admin_user, AutomationMode.AUTO)
    campaign = launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    assert campaign_actions_create(campaign=campaign) == 0
    with pytest.raises(CampaignRefused, match="already covered"):
        launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.count() == 1
    assert len(sandbox.hosted_pages) == 1


def test_in_approve_mode_the_request_waits_for_a_managers_approval(
    sandbox, expiring, manager, admin_user, work, django_capture_on_commit_callbacks
):
    mode(admin_user, AutomationMode.APPROVE)
    campaign = launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    action = CampaignMember.objects.get(campaign=campaign).action
    action.refresh_from_db()
    assert action.state == ActionState.PROPOSED and action.needs_approval
    assert "approve mode" in action.approval_reason
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        action_approve(action=action, user=manager, fingerprint=action_fingerprint(action))
    work()

    action.refresh_from_db()
    assert action.state == ActionState.EXECUTED
    assert len(mail.outbox) == 1


def test_in_shadow_mode_the_request_is_only_logged(
    sandbox, expiring, manager, admin_user, work, django_capture_on_commit_callbacks
):
    mode(admin_user, AutomationMode.SHADOW)
    campaign = launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    action = CampaignMember.objects.get(campaign=campaign).action
    action.refresh_from_db()
    assert action.mode == AutomationMode.SHADOW and action.state == ActionState.PROPOSED
    assert mail.outbox == [] and sandbox.hosted_pages == {}


def test_the_weekly_contact_limit_applies_to_the_request(
    sandbox, expiring, manager, admin_user, work, django_capture_on_commit_callbacks
):
    guardrails_update(
        changes={"default_mode": "auto", "segment_modes": {}, "contacts_per_week": 0},
        user=admin_user,
    )
    campaign = launch(manager, expiring, django_capture_on_commit_callbacks)
    work()

    action = CampaignMember.objects.get(campaign=campaign).action
    action.refresh_from_db()
    assert action.state == ActionState.CANCELLED
    assert "no contacts" in action.result["cancelled"]
    assert mail.outbox == []


def test_agent_cannot_launch_a_campaign(expiring, agent):
    with pytest.raises(PermissionDenied):
        campaign_launch(
            user=agent, name="x", within_days=30, customer_ids=[expiring], holdout_share=0.0
        )
    assert not CampaignMember.objects.exists()
