"""The channel settings an admin saves are the ones delivery and decisions obey: quiet
hours, channels switched off, the sender, the satisfaction survey."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from dunning.actions.channels.delivery import message_deliver
from dunning.decisions.policy_settings.channel_settings import (
    CHANNEL_SETTINGS,
    channel_settings_read,
)
from dunning.governance.config_versions import ConfigEditRefused, config_current, config_update
from dunning.models import Action, AuditEntry, OutboundMessage
from tests.dunning.actions.channels.conftest import PAY_LINK, message_action
from tests.dunning.decided import decided_invoice

pytestmark = pytest.mark.django_db
LINKS = {"pay_link": PAY_LINK}


def save(admin, **changes):
    data = {**config_current(kind=CHANNEL_SETTINGS), **changes}
    return config_update(kind=CHANNEL_SETTINGS, data=data, user=admin, note="test")


def switched_off(*channels):
    return {c: c not in channels for c in ("email", "sms", "in_app")}


def test_nobody_saved_settings_so_the_servers_settings_hold(settings):
    settings.QUIET_HOURS = "22:00-07:00"
    settings.DEFAULT_FROM_EMAIL = "Acme Billing <billing@acme.test>"

    current = channel_settings_read()

    assert (current.quiet.start.hour, current.quiet.end.hour) == (22, 7)
    assert current.from_email == "Acme Billing <billing@acme.test>"
    assert current.enabled == {"email", "sms", "in_app"} and current.csat_survey


def test_quiet_hours_an_admin_saved_hold_the_message_till_they_end(customer_case, admin_user):
    action = message_action(customer_case(country="DE"))
    local_now = timezone.now().astimezone(ZoneInfo("Europe/Berlin"))
    start, end = local_now - timedelta(hours=1), local_now + timedelta(hours=1)
    save(admin_user, quiet_hours=f"{start:%H:%M}-{end:%H:%M}")  # the env setting is ""

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "deferred" and "quiet hours" in result.reason
    assert result.retry_at == end.replace(second=0, microsecond=0)
    assert mail.outbox == [] and not OutboundMessage.objects.exists()


def test_quiet_hours_an_admin_cleared_no_longer_hold_a_message(customer_case, admin_user, settings):
    action = message_action(customer_case(country="DE"))
    local_now = timezone.now().astimezone(ZoneInfo("Europe/Berlin"))
    start, end = local_now - timedelta(hours=1), local_now + timedelta(hours=1)
    settings.QUIET_HOURS = f"{start:%H:%M}-{end:%H:%M}"
    save(admin_user, quiet_hours="")

    assert message_deliver(action=action, links=LINKS).status == "sent"


def test_a_message_planned_on_a_switched_off_channel_goes_out_on_one_that_is_on(
    customer_case, admin_user
):
    action = message_action(customer_case(), channel="sms")
    save(admin_user, enabled=switched_off("sms"))

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "sent"
    message = OutboundMessage.objects.get(pk=result.message_id)
    assert message.channel == "email" and len(mail.outbox) == 1
    entry = AuditEntry.objects.get(action="message.sent")
    assert (entry.data["channel"], entry.data["planned_channel"]) == ("email", "sms")


def test_new_decisions_never_plan_on_a_switched_off_channel(admin_user):
    save(admin_user, enabled=switched_off("email"))

    decision = decided_invoice(decline_code="54")  # expired card: send a link to fix it

    channels = set(
        Action.objects.filter(decision=decision)
        .exclude(channel="")
        .values_list("channel", flat=True)
    )
    assert channels == {"sms"}


def test_the_saved_sender_is_the_from_of_every_email(customer_case, admin_user):
    save(admin_user, sender_name="Acme Billing", sender_address="billing@acme.test")

    message_deliver(action=message_action(customer_case()), links=LINKS)

    [email] = mail.outbox
    assert email.from_email == "Acme Billing <billing@acme.test>"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"quiet_hours": "late"}, "quiet hours must look like"),
        ({"enabled": switched_off("email", "sms", "in_app")}, "at least one channel"),
        ({"sender_address": "not an address"}, "from address"),
    ],
)
def test_admin_cannot_save_settings_that_would_not_work(admin_user, changes, reason):
    with pytest.raises(ConfigEditRefused, match=reason):
        save(admin_user, **changes)
