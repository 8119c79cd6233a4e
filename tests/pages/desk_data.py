"""A small working desk, as the demo leaves one: teams and the three roles, decisions made by
the real service with active models, cases, approvals waiting, a quarter of failures for the
dashboards, an experiment, a webhook event and the audit entries all of that wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from analytics.models import Experiment
from bench.synthetic_models import models_activate_synthetic
from collections_desk.models import Case
from collections_desk.teams import team_create, team_member_add
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import ChargebeeEvent, CrmAccount, Invoice, OutboundMessage
from tests.analytics.experiments.build import running_experiment
from tests.analytics.mirror import cancelled_subscription, days_ago, failed_invoice
from tests.dunning.decided import decided_invoice
from tests.factories import UserFactory

# Decline codes as the demo's simulator sends them: expired, funds, pick-up, do not honour.
DECLINES = ("54", "51", "04", "05", "51", "54")
GATEWAYS = ("stripe", "adyen", "braintree")
CATEGORIES = ("soft_decline", "hard_decline", "gateway_error")


@dataclass
class WorkingDesk:
    agent: object
    manager: object
    admin: object
    case: Case
    experiment: Experiment
    event: ChargebeeEvent
    invoice_id: str


def message_before_payment(invoice: Invoice, *, channel: str, engaged: int) -> None:
    """An email or SMS a day before the payment; ``engaged`` 1: opened, 2+: clicked too."""
    OutboundMessage.objects.create(
        customer=invoice.customer,
        invoice=invoice,
        channel=channel,
        purpose="retry_scheduled",
        recipient="someone",
        body="Your payment failed.",
        status="sent",
        drafter="builtin",
        sent_at=invoice.paid_at - timedelta(days=1),
        delivery="delivered",
        opened_at=invoice.paid_at - timedelta(hours=20) if engaged else None,
        clicked_at=invoice.paid_at - timedelta(hours=19) if engaged > 1 else None,
    )


def working_desk() -> WorkingDesk:
    teams = {
        "enterprise": team_create(name="Enterprise", segments=["enterprise"], routing_order=10),
        "general": team_create(name="Self-serve & growth"),
    }
    agent = UserFactory(username="alice.agent", role="collections agent")
    team_member_add(team=teams["general"], user=agent)
    manager = UserFactory(username="mona.manager", role="collections manager")
    admin = UserFactory(username="ada.admin", role="admin")

    models_activate_synthetic(attempts=2_000, rows=300)
    guardrails_update(changes={"default_mode": "approve"}, user=admin, note="a person approves")
    now = timezone.now()
    for n, code in enumerate(DECLINES, start=1):
        if n == len(DECLINES):
            CrmAccount.objects.create(customer_cb_id=f"cus_{n}", tier="enterprise")
        decided_invoice(n, decline_code=code, at=now - timedelta(days=n), total=4_900 * n)
    for n in range(100, 130):
        outcome = n % 5
        invoice = failed_invoice(
            n,
            failed_at=days_ago(3 + (n - 100) * 2.5),
            amount=2_900 + 1_000 * (n % 7),
            paid_after=timedelta(days=(n % 9) + 0.3) if outcome < 3 else None,
            ended="not_paid" if outcome == 4 else "",
            gateway=GATEWAYS[n % 3],
            category=CATEGORIES[n % 3],
            country=("DE", "US", "FR", "GB")[n % 4],
            decline_code=("" if n % 7 == 0 else DECLINES[n % len(DECLINES)]),
        )
        if invoice.paid_at and n % 3 == 0:  # a message before the payment, some read
            message_before_payment(invoice, channel=("email", "sms")[n % 2], engaged=n % 4)
        if outcome == 4:
            cancelled_subscription(n, at=days_ago((n - 100) * 2.5), reason="not_paid")
    experiment = running_experiment(manager, name="Firm tone")
    event = ChargebeeEvent.objects.create(
        event_id="ev_1",
        event_type="payment_failed",
        occurred_at=now,
        source="scheduled_job",
        api_version="v2",
        payload={"id": "ev_1", "event_type": "payment_failed", "content": {}},
        state="processed",
        processed_at=now,
    )
    case = Case.objects.filter(customer_id="cus_1").get()
    return WorkingDesk(
        agent, manager, admin, case, experiment, event, Invoice.objects.get(cb_id="inv_1").cb_id
    )
