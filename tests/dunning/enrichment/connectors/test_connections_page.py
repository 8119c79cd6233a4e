"""The Connections page: who may open and change it, the test buttons, health on System status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.enrichment.connectors.config import connections_read
from dunning.models import AuditEntry, ConfigVersion

pytestmark = pytest.mark.django_db

PAGE = reverse("dunning:connections")
# --- the permission matrix (GET, POST a change, POST a test) --------------------------
EXPECTED = {
    "agent": (403, 403, 403),
    "manager": (200, 403, 403),
    "admin_user": (200, 302, 200),
}


def _form(**changes) -> dict:
    data = {
        "escalation": "local",
        "support_signals": "none",
        "usage_signals": "none",
        "card_updater": "default",
        "salesforce__instance_url": "",
        "salesforce__api_version": "v60.0",
        "salesforce__case_origin": "Web",
        "hubspot__base_url": "https://api.hubapi.com",
        "hubspot__pipeline": "0",
        "hubspot__stage": "1",
        "zendesk__base_url": "",
        "zendesk__email": "",
        "usage_sql__query": "",
        "usage_sql__timeout_seconds": 5,
        "usage_sql__row_limit": 1000,
        "stripe__base_url": "https://api.stripe.com",
        "sms": "webhook",
        "twilio__base_url": "https://api.twilio.com",
        "twilio__account_sid": "",
        "twilio__from_number": "",
        "twilio__messaging_service_sid": "",
        "note": "connect the CRM",
        "based_on": 0,
    }
    return {**data, **changes}


@pytest.mark.parametrize("persona", list(EXPECTED))
def test_admins_change_connections_managers_read_them_agents_are_refused(
    client, request, persona, peer
):
    client.force_login(request.getfixturevalue(persona))
    test_url = reverse("dunning:connection_test", args=["zendesk"])

    got = (
        client.get(PAGE).status_code,
        client.post(PAGE, _form()).status_code,
        client.post(test_url, HTTP_HX_REQUEST="true").status_code,
    )

    assert got == EXPECTED[persona]


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_saving_makes_a_version_and_never_stores_the_credential(client, admin_user, monkeypatch):
    monkeypatch.setenv("DUNWELL_SALESFORCE_TOKEN", "00D-secret-token")
    client.force_login(admin_user)

    response = client.post(
        PAGE,
        _form(escalation="salesforce", salesforce__instance_url="https://acme.my.salesforce.com"),
    )

    assert response.status_code == 302
    assert connections_read()["escalation"] == "salesforce"
    stored = ConfigVersion.objects.get(key="connections")
    assert "00D-secret-token" not in str(stored.data)
    page = client.get(PAGE).content.decode()
    assert "DUNWELL_SALESFORCE_TOKEN" in page and "00D-secret-token" not in page


# --- rollback ------------------------------------------------------------------------
CONFIRMED = {"reason": "the CRM is not ready yet", "confirm": "yes"}
SALESFORCE = {
    "escalation": "salesforce",
    "salesforce__instance_url": "https://acme.my.salesforce.com",
}


def _rollback(version: int) -> str:
    return reverse("dunning:connections_rollback", args=[version])


def test_admin_rolls_the_connections_back_to_an_earlier_version(client, admin_user):
    client.force_login(admin_user)
    client.post(PAGE, _form(note="local escalation for now"))
    client.post(PAGE, _form(**SALESFORCE, note="connect the CRM", based_on=1))
    assert connections_read()["escalation"] == "salesforce"
    assert "Roll back to v1" in client.get(PAGE).content.decode()

    response = client.post(_rollback(1), CONFIRMED, follow=True)

    assert "Version 1 is in force again, as version 3." in response.content.decode()
    assert connections_read()["escalation"] == "local"
    restored = ConfigVersion.objects.get(key="connections", active=True)
    assert restored.version == 3
    assert restored.note == "rolled back to version 1: the CRM is not ready yet"
    entry = AuditEntry.objects.get(action="config.rolled_back")
    assert entry.actor == admin_user and entry.data["restored_version"] == 1
    assert entry.data["diff"]["escalation"] == {"from": "salesforce", "to": "local"}


def test_a_connections_rollback_needs_a_reason_and_a_confirmation(client, admin_user):
    client.force_login(admin_user)
    client.post(PAGE, _form(note="local escalation for now"))
    client.post(PAGE, _form(**SALESFORCE, note="connect the CRM", based_on=1))

    no_reason = client.post(_rollback(1), {"confirm": "yes"})
    unconfirmed = client.post(_rollback(1), {"reason": "not ready"})

    assert no_reason.status_code == unconfirmed.status_code == 400
    assert connections_read()["escalation"] == "salesforce"


def test_manager_cannot_roll_the_connections_back(client, admin_user, manager):
    client.force_login(admin_user)
    client.post(PAGE, _form(note="local escalation for now"))
    client.post(PAGE, _form(**SALESFORCE, note="connect the CRM", based_on=1))
    client.force_login(manager)

    page = client.get(PAGE).content.decode()
    response = client.post(_rollback(1), CONFIRMED)

    assert "v1" in page and "Roll back" not in page
    assert response.status_code == 403
    assert connections_read()["escalation"] == "salesforce"
    assert ConfigVersion.objects.filter(key="connections").count() == 2


def test_rolling_the_connections_back_to_an_unknown_version_is_not_found(client, admin_user):
    client.force_login(admin_user)

    assert client.post(_rollback(9), CONFIRMED).status_code == 404


def test_salesforce_chosen_without_its_url_is_refused_with_a_reason(client, admin_user):
    client.force_login(admin_user)

    response = client.post(PAGE, _form(escalation="salesforce"))

    assert response.status_code == 400
    assert "Salesforce needs its URL" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (
            401,
            {"error": "Couldn't authenticate you"},
            "refused the credentials (401): check DUNWELL_ZENDESK_API_TOKEN",
        ),
        (
            403,
            {"error": "Forbidden", "description": "You do not have access"},
            "refused this request (403)",
        ),
        (404, {"error": "InvalidEndpoint", "description": "Not found"}, "no such resource (404)"),
        (200, {"user": {"id": 9001, "role": "admin"}}, "signed in as an admin (user 9001)"),
    ],
)
def test_the_zendesk_test_button_says_what_went_wrong(
    client, admin_user, peer, connect, monkeypatch, status, body, says
):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd")
    connect(zendesk={"base_url": peer.url, "email": "ops@example.com"})
    peer.answer("GET", "/api/v2/users/me.json", status, body)
    client.force_login(admin_user)

    response = client.post(
        reverse("dunning:connection_test", args=["zendesk"]), HTTP_HX_REQUEST="true"
    )

    assert says in response.content.decode()


def test_a_connector_that_does_not_answer_in_time_says_so(
    client, admin_user, peer, connect, monkeypatch
):
    import httpx

    import dunning.enrichment.connectors.vendor_http as vendor_http

    monkeypatch.setattr(vendor_http, "TIMEOUT", httpx.Timeout(0.5))
    monkeypatch.setenv("DUNWELL_STRIPE_SECRET_KEY", "rk_test")
    connect(stripe={"base_url": peer.url})
    peer.answer("GET", "/v1/events", 200, {"object": "list", "data": []})
    peer.delay = 1.5
    client.force_login(admin_user)

    response = client.post(
        reverse("dunning:connection_test", args=["stripe"]), HTTP_HX_REQUEST="true"
    )

    assert "Stripe did not answer in time" in response.content.decode()


def test_system_status_shows_each_connectors_last_failure(
    client, admin_user, peer, connect, monkeypatch
):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd")
    connect(zendesk={"base_url": peer.url, "email": "ops@example.com"})
    peer.answer("GET", "/api/v2/users/me.json", 429, {"error": "TooManyRequests"}, Retry_After=30)
    client.force_login(admin_user)
    client.post(reverse("dunning:connection_test", args=["zendesk"]))

    page = client.get(reverse("dunning:system_status")).content.decode()

    assert "failing" in page and "Zendesk is rate-limiting Dunwell (429); retry after 30 s" in page
