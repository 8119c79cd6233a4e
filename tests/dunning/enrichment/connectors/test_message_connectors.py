"""Twilio and the email provider on the Connections page: their test buttons and health."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dunning.enrichment.connectors.config import connections_read

pytestmark = pytest.mark.django_db

SID = "AC" + "b2" * 16
ACCOUNT = f"/2010-04-01/Accounts/{SID}.json"
PAGE = reverse("dunning:connections")


def _test(client, connector: str) -> str:
    url = reverse("dunning:connection_test", args=[connector])
    return client.post(url, HTTP_HX_REQUEST="true").content.decode()


@pytest.fixture
def twilio(peer, connect, monkeypatch):
    monkeypatch.setenv("DUNWELL_TWILIO_AUTH_TOKEN", "tw-token")
    connect(twilio={"base_url": peer.url, "account_sid": SID})
    return peer


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (
            200,
            {"sid": SID, "friendly_name": "Acme billing", "status": "active", "type": "Full"},
            "account Acme billing is active",
        ),
        (
            401,
            {
                "code": 20003,
                "message": "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            },
            "Twilio refused the credentials (401): check DUNWELL_TWILIO_AUTH_TOKEN: 20003 Authenticate",
        ),
        (
            404,
            {
                "code": 20404,
                "message": "The requested resource was not found",
                "more_info": "https://www.twilio.com/docs/errors/20404",
                "status": 404,
            },
            "Twilio has no such resource (404)",
        ),
    ],
)
def test_the_twilio_test_button_reads_the_account_and_says_what_went_wrong(
    client, admin_user, twilio, status, body, says
):
    twilio.answer("GET", ACCOUNT, status, body)
    client.force_login(admin_user)

    assert says in _test(client, "twilio")
    assert twilio.received[0].method == "GET"


def test_twilio_chosen_without_a_sender_is_refused_with_a_reason(client, admin_user):
    from tests.dunning.enrichment.connectors.test_connections_page import _form

    client.force_login(admin_user)

    response = client.post(PAGE, _form(sms="twilio", twilio__account_sid=SID))

    assert response.status_code == 400
    assert "Twilio needs a From number or a Messaging Service SID" in response.content.decode()
    assert connections_read()["sms"] == "webhook"


def test_a_twilio_rate_limit_shows_on_system_status(client, admin_user, twilio):
    twilio.answer(
        "GET",
        ACCOUNT,
        429,
        {"code": 20429, "message": "Too Many Requests", "status": 429},
        Retry_After=12,
    )
    client.force_login(admin_user)
    _test(client, "twilio")

    page = client.get(reverse("dunning:system_status")).content.decode()

    assert "Twilio is rate-limiting Dunwell (429); retry after 12 s" in page


# --- the email provider -------------------------------------------------------------
@pytest.fixture
def postmark(peer, settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "pm-server-token",
        "POSTMARK_API_URL": f"{peer.url}/",
    }
    return peer


def test_the_postmark_test_button_reads_the_server_with_its_token(client, admin_user, postmark):
    postmark.answer(
        "GET",
        "/server",
        200,
        {"ID": 11635, "Name": "Billing", "ApiTokens": ["..."], "Color": "red", "TrackOpens": True},
    )
    client.force_login(admin_user)

    said = _test(client, "email")

    assert "Postmark answered: server Billing (id 11635)" in said
    assert postmark.received[0].headers["X-Postmark-Server-Token"] == "pm-server-token"


def test_a_postmark_token_it_refuses_is_named(client, admin_user, postmark):
    postmark.answer(
        "GET", "/server", 401, {"ErrorCode": 10, "Message": "Bad or missing Server API token."}
    )
    client.force_login(admin_user)

    said = _test(client, "email")

    assert "check DUNWELL_POSTMARK_SERVER_TOKEN: 10 Bad or missing Server API token." in said


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (200, {"scopes": ["mail.send", "alerts.read"]}, "SendGrid answered: the key may send mail"),
        (200, {"scopes": ["alerts.read"]}, "it may not send mail (mail.send)"),
        (
            401,
            {"errors": [{"field": None, "message": "authorization required"}]},
            "check DUNWELL_SENDGRID_API_KEY: authorization required",
        ),
        (503, {"errors": [{"message": "service unavailable"}]}, "server error (503)"),
    ],
)
def test_the_sendgrid_test_button_reads_the_keys_scopes(
    client, admin_user, peer, settings, status, body, says
):
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {"SENDGRID_API_KEY": "SG.key", "SENDGRID_API_URL": f"{peer.url}/v3/"}
    peer.answer("GET", "/v3/scopes", status, body)
    client.force_login(admin_user)

    assert says in _test(client, "email")
    assert peer.received[0].headers["Authorization"] == "Bearer SG.key"


def test_amazon_ses_says_plainly_that_only_sending_tests_it(client, admin_user, settings):
    settings.EMAIL_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    client.force_login(admin_user)

    assert "amazon_ses has no read-only check: only sending an email tests it" in _test(
        client, "email"
    )


def test_the_page_lists_twilio_and_the_email_provider_with_their_webhooks(
    client, admin_user, postmark, settings, monkeypatch
):
    settings.PUBLIC_BASE_URL = "https://dunwell.example.com"
    monkeypatch.setenv("DUNWELL_POSTMARK_SERVER_TOKEN", "pm-server-token")
    client.force_login(admin_user)

    page = client.get(PAGE).content.decode()

    assert "DUNWELL_TWILIO_AUTH_TOKEN" in page and "DUNWELL_POSTMARK_SERVER_TOKEN" in page
    assert "https://dunwell.example.com/webhooks/twilio/status/" in page
    assert "/webhooks/anymail/postmark/tracking/" in page and "pm-server-token" not in page
