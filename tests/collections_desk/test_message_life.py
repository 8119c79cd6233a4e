"""Every message's life, visible: drafted, waiting (why, until when in the customer's own
time), sent, failed, withdrawn; and what a person is told on submit is what will happen."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_desk.manual_collection import manual_request_payment_method
from dunning.actions.channels.message_life import message_life
from dunning.models import Action, ActionKind, ActionState, Customer, Invoice, OutboundMessage

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")  # the customers are in Germany


def link_of(case) -> Action:
    Customer.objects.filter(cb_id=case.customer_id).update(email="ana@example.test")
    return (
        Action.objects.filter(customer_id=case.customer_id, kind=ActionKind.PAYMENT_METHOD_LINK)
        .order_by("scheduled_for")
        .first()
    )


def quiet_now(settings) -> str:
    """Quiet hours that hold right now in Berlin and end at a known local hour."""
    start = timezone.now().astimezone(BERLIN) - timedelta(hours=1)
    end = start + timedelta(hours=3)
    settings.QUIET_HOURS = f"{start:%H}:00-{end:%H}:00"
    return f"{end:%H}:00"


def test_a_request_quiet_hours_hold_says_it_waits_and_until_when_customer_time(
    general_case, agent, settings
):
    link_of(general_case)  # gives the customer an email address
    ends = quiet_now(settings)

    outcome = manual_request_payment_method(invoice=Invoice.objects.get(cb_id="inv_1"), user=agent)

    summary = outcome.summary()
    assert "approved; waits for quiet hours" in summary and "on its way" not in summary
    assert f"until {ends}" in summary and "customer time (Europe/Berlin)" in summary


def test_a_request_outside_quiet_hours_is_on_its_way(general_case, agent, settings):
    link_of(general_case)
    settings.QUIET_HOURS = ""

    outcome = manual_request_payment_method(invoice=Invoice.objects.get(cb_id="inv_1"), user=agent)

    assert outcome.summary().endswith("approved and on its way.")


def test_a_request_that_cannot_be_sent_says_so_on_submit(general_case, agent, settings):
    settings.QUIET_HOURS = ""  # the customer has no email address: delivery would refuse

    outcome = manual_request_payment_method(invoice=Invoice.objects.get(cb_id="inv_1"), user=agent)

    assert outcome.summary().endswith(
        "approved, but it will not be sent: the customer has no Email contact."
    )


def test_the_outbox_shows_what_waits_and_why_until_when_in_the_customers_time(
    client, general_case, manager
):
    link = link_of(general_case)
    until = timezone.now() + timedelta(hours=9)
    Action.objects.filter(pk=link.pk).update(
        state=ActionState.SCHEDULED,
        next_attempt_at=until,
        last_error="quiet hours in the customer's time zone (Europe/Berlin)",
    )
    client.force_login(manager)

    body = client.get(reverse("dunning:outbox")).content.decode()

    row = body[body.index(f'data-action="{link.pk}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-life="waiting"' in row and "quiet hours" in row
    assert f"until {until.astimezone(BERLIN):%H:%M}" in row and "customer time" in row
    assert 'data-life="drafted"' in body  # the reminder still waits for approval


def test_sent_failed_and_withdrawn_are_told_apart(general_case):
    link = link_of(general_case)
    message = OutboundMessage.objects.create(
        action=link,
        customer_id=link.customer_id,
        invoice_id=link.invoice_id,
        channel="email",
        purpose="payment_method_update",
        recipient="ana@example.test",
        body="Hi",
        status=OutboundMessage.Status.FAILED,
        error="smtp timeout",
    )

    assert message_life(action=link).state == "failed"
    OutboundMessage.objects.filter(pk=message.pk).update(
        status="withdrawn", error="withdrawn: paid"
    )
    assert message_life(action=link).sentence() == "withdrawn: withdrawn: paid"
    OutboundMessage.objects.filter(pk=message.pk).update(status="sent", error="")
    assert message_life(action=link).state == "sent"


def test_the_case_and_invoice_pages_show_each_messages_life(client, general_case, manager):
    link_of(general_case)
    client.force_login(manager)

    case_page = client.get(reverse("collections_desk:case_detail", args=[general_case.pk]))
    invoice_page = client.get(reverse("dunning:invoice_decisions", args=["inv_1"]))

    assert 'data-life="drafted"' in case_page.content.decode()
    assert 'data-life="drafted"' in invoice_page.content.decode()
