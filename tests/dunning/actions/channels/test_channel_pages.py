"""The outbox (every staff role reads it) and the prompt templates (admins edit, managers
read, agents are refused)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.actions.channels.delivery import message_deliver
from dunning.actions.channels.prompts import DEFAULT_PROMPT
from dunning.models import AuditEntry, PromptTemplate
from tests.dunning.actions.channels.conftest import PAY_LINK, message_action

pytestmark = pytest.mark.django_db
OUTBOX = reverse("dunning:outbox")
PROMPTS = reverse("dunning:prompt_templates")


def save(
    client,
    *,
    text=DEFAULT_PROMPT + "\nKeep it under 120 words.",
    note="shorter",
    based_on=0,
    purpose="retry_scheduled",
    channel="email",
):
    return client.post(
        PROMPTS,
        {"purpose": purpose, "channel": channel, "text": text, "note": note, "based_on": based_on},
    )


def test_agent_reads_the_messages_sent_as_the_customer_received_them(client, agent, customer_case):
    message_deliver(action=message_action(customer_case()), links={"pay_link": PAY_LINK})
    client.force_login(agent)

    response = client.get(OUTBOX)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Hi Ana," in page or "Dear Ana," in page or "Hello Ana," in page
    assert PAY_LINK in page and "ana.lima@example.org" in page and "inv_1" in page
    assert b'href="/dunning/outbox/"' in response.content  # in the navigation


def test_the_outbox_filters_by_channel_as_an_htmx_fragment(client, manager, customer_case):
    decision = customer_case()
    message_deliver(action=message_action(decision), links={"pay_link": PAY_LINK})
    message_deliver(action=message_action(decision, channel="in_app"), links={"pay_link": PAY_LINK})
    client.force_login(manager)

    response = client.get(OUTBOX, {"channel": "in_app"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert response.content.decode().count("<details>") == 1
    assert "HX-Request" in response["Vary"]


def test_the_outbox_finds_the_messages_of_a_customer_or_an_invoice(client, manager, customer_case):
    for n in (1, 2):
        message_deliver(action=message_action(customer_case(n)), links={"pay_link": PAY_LINK})
    client.force_login(manager)

    for q in ("cus_2", "inv_2"):
        body = client.get(OUTBOX, {"q": q}, HTTP_HX_REQUEST="true").content.decode()

        assert body.count("<details>") == 1 and "inv_2" in body and "inv_1" not in body


def test_a_bad_filter_gets_a_400_with_the_reason(client, agent):
    client.force_login(agent)

    response = client.get(OUTBOX, {"channel": "pigeon"})

    assert response.status_code == 400 and b"pigeon" in response.content


def test_someone_logged_out_is_sent_to_log_in(client):
    assert client.get(OUTBOX).status_code == 302


def test_agent_cannot_open_the_prompt_templates(client, agent):
    client.force_login(agent)

    assert client.get(PROMPTS).status_code == 403
    assert save(client).status_code == 403
    assert not PromptTemplate.objects.exists()


def test_manager_reads_the_prompt_templates_but_cannot_change_them(client, manager):
    client.force_login(manager)

    page = client.get(PROMPTS)
    assert page.status_code == 200 and b"only an admin can change them" in page.content
    assert b"never instructions" in page.content and b"<textarea" not in page.content
    assert save(client).status_code == 403
    assert not PromptTemplate.objects.exists()


def test_admin_saves_a_new_version_which_is_audited_and_then_in_force(client, admin_user):
    client.force_login(admin_user)

    response = save(client)
    second = save(client, text=DEFAULT_PROMPT + "\nSign off warmly.", note="warmer", based_on=1)

    assert response.status_code == second.status_code == 302
    versions = PromptTemplate.objects.filter(purpose="retry_scheduled", channel="email")
    assert [(v.version, v.active, v.note) for v in versions] == [
        (2, True, "warmer"),
        (1, False, "shorter"),
    ]
    entries = AuditEntry.objects.filter(action="prompt_template.changed").order_by("seq")
    assert [e.data["version"] for e in entries] == [1, 2]
    assert entries[1].actor == admin_user and entries[1].data["note"] == "warmer"
    page = client.get(PROMPTS, {"purpose": "retry_scheduled", "channel": "email"})
    assert b"Sign off warmly." in page.content and b"version 2" in page.content


@pytest.mark.parametrize(
    "overrides,reason",
    [
        (
            {"text": "Write a nice email about $purpose for $customer_email. $required"},
            b"unknown slots: $customer_email",
        ),
        ({"text": "Write a nice email about $purpose."}, b"must use $required"),
        ({"text": DEFAULT_PROMPT}, b"nothing changed"),
        ({"note": ""}, b"This field is required"),
        ({"purpose": "spam"}, b"Select a valid choice"),
    ],
)
def test_admin_gets_the_reason_when_a_template_is_refused(client, admin_user, overrides, reason):
    client.force_login(admin_user)

    response = save(client, **overrides)

    assert response.status_code == 400 and reason in response.content
    assert not PromptTemplate.objects.exists()


def test_a_save_over_someone_elses_newer_version_is_refused(client, admin_user):
    client.force_login(admin_user)
    save(client)

    response = save(client, text=DEFAULT_PROMPT + "\nMine.", note="mine", based_on=0)

    assert (
        response.status_code == 409 and b"was saved after you opened the page" in response.content
    )
    assert PromptTemplate.objects.count() == 1
