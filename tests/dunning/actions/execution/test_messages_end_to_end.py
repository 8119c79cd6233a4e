"""A person's request reaches the customer for real: executor, Chargebee's hosted page and
the channels, with nothing replaced."""

from __future__ import annotations

import pytest
from django.core import mail

from collections_desk.manual_collection import manual_request_payment, manual_request_payment_method
from dunning.models import ActionState, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("request_for", "says"),
    [(manual_request_payment_method, "card"), (manual_request_payment, "is now due")],
)
def test_agents_request_is_emailed_once_with_chargebees_link(
    request_for, says, sandbox, renewal, agent, work, settings, django_capture_on_commit_callbacks
):
    settings.QUIET_HOURS = ""  # whatever the hour the test runs at
    with django_capture_on_commit_callbacks(execute=True):
        action = request_for(invoice=renewal, user=agent).action

    work()
    work()  # a second run sends nothing more

    action.refresh_from_db()
    assert action.state == ActionState.EXECUTED, action.result
    [email] = mail.outbox
    [page] = sandbox.hosted_pages.values()
    assert page["url"] in email.body and says in email.body
    assert "Ana" in email.body and "{" not in email.body
    assert OutboundMessage.objects.get(action=action).status == "sent"
