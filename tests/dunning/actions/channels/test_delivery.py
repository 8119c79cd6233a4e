"""Delivering the message an action asks for: drafted, filled, sent once, logged, and held
back at night and past the weekly contact limit."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from dunning.actions.channels.delivery import message_deliver
from dunning.decisions.decision_queries import invoice_audit_trail
from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.models import ActionKind, AuditEntry, Invoice, OutboundMessage
from tests.dunning.actions.channels.conftest import EMAIL, PAY_LINK, PHONE, message_action

pytestmark = pytest.mark.django_db
LINKS = {"pay_link": PAY_LINK}


def test_a_retry_announcement_reaches_the_customer_filled_in_and_on_the_invoice_trail(
    customer_case,
):
    action = message_action(customer_case())

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "sent"
    [email] = mail.outbox
    assert email.to == [EMAIL]
    assert "Ana" in email.body and "€49.00" in email.body and PAY_LINK in email.body
    assert "insufficient funds" in email.body
    assert "Wednesday 6 November" in email.body  # the retry, in the customer's time zone
    assert "{" not in email.body + email.subject
    message = OutboundMessage.objects.get(pk=result.message_id)
    assert (message.status, message.body, message.subject) == ("sent", email.body, email.subject)
    assert message.drafter == "builtin" and message.sent_at is not None
    entry = AuditEntry.objects.get(action="message.sent")
    assert entry.data["message"] == message.pk and entry.data["channel"] == "email"
    assert "Ana" not in str(entry.data) and PAY_LINK not in str(entry.data)  # ids, not the text
    assert invoice_audit_trail(invoice_id="inv_1").filter(pk=entry.pk).exists()


def test_delivering_the_same_action_twice_sends_one_message(customer_case):
    action = message_action(customer_case())

    first = message_deliver(action=action, links=LINKS)
    second = message_deliver(action=action, links=LINKS)

    assert second.status == "sent" and second.message_id == first.message_id
    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.count() == 1
    assert AuditEntry.objects.filter(action="message.sent").count() == 1


def test_at_night_in_the_customers_time_zone_the_message_waits_for_the_morning(
    customer_case, settings
):
    action = message_action(customer_case(country="DE"))
    local_now = timezone.now().astimezone(ZoneInfo("Europe/Berlin"))
    start, end = local_now - timedelta(hours=1), local_now + timedelta(hours=1)
    settings.QUIET_HOURS = f"{start:%H:%M}-{end:%H:%M}"

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "deferred" and "quiet hours" in result.reason
    assert result.retry_at == end.replace(second=0, microsecond=0)
    assert mail.outbox == [] and not OutboundMessage.objects.exists()


def test_quiet_hours_elsewhere_do_not_hold_a_customer_whose_day_it_is(customer_case, settings):
    action = message_action(customer_case(country="DE"))
    berlin = timezone.now().astimezone(ZoneInfo("Europe/Berlin"))
    # Quiet for the 10 hours after Berlin's present hour: wherever it is night now, not Berlin.
    start, end = berlin + timedelta(hours=2), berlin + timedelta(hours=12)
    settings.QUIET_HOURS = f"{start:%H:00}-{end:%H:00}"

    assert message_deliver(action=action, links=LINKS).status == "sent"


def _sent_earlier(customer_id: str, *ages_in_days: float) -> None:
    for age in ages_in_days:
        OutboundMessage.objects.create(
            customer_id=customer_id,
            channel="email",
            purpose="payment_method_update",
            recipient=EMAIL,
            body="earlier",
            status="sent",
            drafter="builtin",
            sent_at=timezone.now() - timedelta(days=age),
        )


def test_past_the_weekly_contact_limit_the_message_waits_until_a_contact_leaves_the_week(
    customer_case,
):
    decision = customer_case(decline_code="54")
    action = decision.actions.get(kind=ActionKind.PAYMENT_METHOD_LINK, params={})
    _sent_earlier("cus_1", 1, 2, 6, 10)  # three in the last week (the limit), one older

    result = message_deliver(action=action, links=LINKS)

    oldest_in_week = OutboundMessage.objects.order_by("sent_at")[1].sent_at
    assert result.status == "deferred" and "contact limit (3)" in result.reason
    assert abs(result.retry_at - (oldest_in_week + timedelta(days=7))) < timedelta(seconds=1)
    assert mail.outbox == []


def test_the_admins_contact_limit_is_the_one_respected(customer_case, admin_user):
    action = message_action(customer_case())
    _sent_earlier("cus_1", 1, 2, 3)
    guardrails_update(changes={"contacts_per_week": 4}, user=admin_user, note="one more")

    assert message_deliver(action=action, links=LINKS).status == "sent"


def test_a_retry_announcement_that_could_only_go_out_after_the_retry_is_refused(customer_case):
    soon = (timezone.now() + timedelta(days=1)).isoformat()
    action = message_action(
        customer_case(), params={"template": "payment_failed_retry_scheduled", "retry_at": soon}
    )
    _sent_earlier("cus_1", 1, 2, 3)

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "refused" and "until after the retry it announces" in result.reason


def test_a_link_message_without_a_link_is_refused_with_a_reason(customer_case):
    action = message_action(customer_case(), kind=ActionKind.PAYMENT_METHOD_LINK, params={})

    result = message_deliver(action=action, links={})

    assert result.status == "refused" and "needs a payment link" in result.reason
    assert mail.outbox == []


def test_a_paid_invoice_gets_no_reminder(customer_case):
    action = message_action(customer_case(), kind=ActionKind.PAYMENT_METHOD_LINK, params={})
    Invoice.objects.filter(cb_id="inv_1").update(status="paid")

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "refused" and "paid" in result.reason


def test_an_action_that_is_not_a_message_is_refused(customer_case):
    action = message_action(customer_case(), kind=ActionKind.RETRY, params={})

    assert message_deliver(action=action, links=LINKS).status == "refused"


def test_sms_is_posted_to_the_configured_endpoint_once_and_fits_one_segment(
    customer_case, provider_server, settings
):
    settings.SMS_WEBHOOK_URL = f"{provider_server.url}/sms"
    settings.SMS_WEBHOOK_TOKEN = "sms-secret"
    action = message_action(customer_case(), channel="sms")

    first = message_deliver(action=action, links=LINKS)
    again = message_deliver(action=action, links=LINKS)

    assert first.status == again.status == "sent"
    [request] = provider_server.requests
    assert request["to"] == PHONE and request["channel"] == "sms"
    assert PAY_LINK in request["body"] and len(request["body"]) <= 160
    assert request["headers"]["authorization"] == "Bearer sms-secret"
    assert request["headers"]["idempotency-key"] == f"dunwell-message-{first.message_id}"
    message = OutboundMessage.objects.get(pk=first.message_id)
    assert message.provider_id == "prov_1" and message.body == request["body"]


def test_an_sms_provider_that_is_down_defers_and_the_next_attempt_sends_once(
    customer_case, provider_server, settings
):
    settings.SMS_WEBHOOK_URL = f"{provider_server.url}/sms"
    action = message_action(customer_case(), channel="sms")
    provider_server.status = 503

    down = message_deliver(action=action, links=LINKS)
    provider_server.status = 201
    back = message_deliver(action=action, links=LINKS)

    assert down.status == "deferred" and "503" in down.reason and down.retry_at
    assert back.status == "sent" and back.message_id == down.message_id
    assert OutboundMessage.objects.get().status == "sent"
    assert AuditEntry.objects.filter(action="message.sent").count() == 1


def test_an_sms_the_provider_refuses_is_not_retried(customer_case, provider_server, settings):
    settings.SMS_WEBHOOK_URL = f"{provider_server.url}/sms"
    provider_server.status = 400
    action = message_action(customer_case(), channel="sms")

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "refused" and "400" in result.reason


def test_in_app_messages_without_an_endpoint_stay_in_the_local_outbox(customer_case):
    action = message_action(customer_case(), channel="in_app")

    result = message_deliver(action=action, links=LINKS)

    message = OutboundMessage.objects.get(pk=result.message_id)
    assert result.status == "sent" and message.provider == "local outbox"
    assert message.recipient == "cus_1" and len(message.body) <= 280 and PAY_LINK in message.body
    assert mail.outbox == []


def test_a_customer_without_a_phone_number_gets_no_sms(customer_case):
    decision = customer_case()
    decision.customer.__class__.objects.filter(cb_id="cus_1").update(raw={})
    action = message_action(decision, channel="sms")

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "refused" and "no SMS contact" in result.reason


def test_a_message_a_person_edited_in_the_inbox_is_sent_as_written_with_the_link(
    customer_case, agent
):
    from dunning.models import Action

    action = message_action(customer_case(), kind=ActionKind.PAYMENT_METHOD_LINK, params={})
    Action.objects.filter(pk=action.pk).update(
        params={"message_text": "Hi {first_name}, we spoke on the phone: please update your card."},
        edited_by=agent,
    )
    action.refresh_from_db()

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "sent"
    [email] = mail.outbox
    assert email.body.startswith("Hi Ana, we spoke on the phone: please update your card.")
    assert PAY_LINK in email.body  # the link the action needs is added on its own line
    message = OutboundMessage.objects.get(pk=result.message_id)
    assert (message.drafter, message.model) == ("person", "edited by alice.agent")
