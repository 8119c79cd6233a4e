"""Email through anymail (Postmark, SendGrid), and the ESP's tracking webhooks on the message.

The peer answers as Postmark's and SendGrid's send APIs do; the webhooks are POSTed in the
ESPs' documented shapes to anymail's own tracking URLs, with its webhook basic auth.
"""

from __future__ import annotations

import base64
import json

import pytest

from dunning.actions.channels.delivery import message_deliver
from dunning.actions.channels.message_life import message_life
from dunning.models import ConnectorEvent, MessageEvent, OutboundMessage
from tests.dunning.actions.channels.conftest import EMAIL, message_action

pytestmark = pytest.mark.django_db

LINKS = {"pay_link": "https://pay.example.test/hp_8f2k"}
PM_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
HOOK_USER, HOOK_PASSWORD = "dunwell", "hook-pass-7d1"


def _auth(user: str = HOOK_USER, password: str = HOOK_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def postmark(peer, settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "pm-server-token",
        "POSTMARK_API_URL": f"{peer.url}/",
        "WEBHOOK_SECRET": f"{HOOK_USER}:{HOOK_PASSWORD}",
    }
    return peer


def _postmark_sent(to: str = EMAIL) -> dict:
    return {
        "To": to,
        "SubmittedAt": "2026-12-02T16:00:00.0000000Z",
        "MessageID": PM_ID,
        "ErrorCode": 0,
        "Message": "OK",
    }


@pytest.fixture
def sent_email(customer_case, postmark):
    postmark.answer("POST", "/email", 200, _postmark_sent())
    result = message_deliver(action=message_action(customer_case()), links=LINKS)
    return OutboundMessage.objects.get(pk=result.message_id)


def test_an_email_goes_through_postmark_and_keeps_postmarks_message_id(sent_email, postmark):
    sent = postmark.received[0]
    assert sent.path == "/email" and sent.json["To"] == EMAIL
    assert sent.headers["X-Postmark-Server-Token"] == "pm-server-token"
    assert "https://pay.example.test/hp_8f2k" in sent.json["TextBody"]
    assert (sent_email.status, sent_email.provider, sent_email.provider_id) == (
        "sent",
        "postmark",
        PM_ID,
    )


def test_an_address_postmark_knows_is_inactive_is_refused_for_good(customer_case, postmark):
    postmark.answer(
        "POST",
        "/email",
        422,
        {
            "ErrorCode": 406,
            "Message": "You tried to send to recipient(s) that have been marked "
            f"as inactive. Found inactive addresses: {EMAIL}. Inactive recipients are ones that "
            "have generated a hard bounce, a spam complaint, or a manual suppression.",
        },
    )

    result = message_deliver(action=message_action(customer_case()), links=LINKS)

    assert result.status == "refused" and "refused the recipient (rejected)" in result.reason


@pytest.mark.parametrize("status", [429, 500])
def test_a_postmark_that_cannot_take_it_now_defers_the_email(customer_case, postmark, status):
    postmark.answer("POST", "/email", status, {"ErrorCode": 100, "Message": "Maintenance"})

    result = message_deliver(action=message_action(customer_case()), links=LINKS)

    assert result.status == "deferred"


# --- Postmark's tracking webhooks (its documented payloads) ------------------------------
POSTMARK_HOOK = "/webhooks/anymail/postmark/tracking/"


def _delivery() -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": PM_ID,
        "Recipient": EMAIL,
        "Tag": "",
        "Metadata": {},
        "DeliveredAt": "2026-12-02T16:00:04.9070259Z",
        "Details": "smtp;250 2.0.0 OK",
    }


def _open(at: str = "2026-12-02T17:10:00.0000000Z") -> dict:
    return {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
        "OS": {"Name": "unknown", "Company": "unknown", "Family": "unknown"},
        "Platform": "WebMail",
        "UserAgent": "Mozilla/5.0",
        "ReadSeconds": 5,
        "Geo": {},
        "MessageID": PM_ID,
        "Metadata": {},
        "ReceivedAt": at,
        "Tag": "",
        "Recipient": EMAIL,
    }


def _click() -> dict:
    return {
        "RecordType": "Click",
        "MessageStream": "outbound",
        "ClickLocation": "Text",
        "Client": {"Name": "Chrome"},
        "OS": {"Name": "macOS"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0",
        "OriginalLink": "https://pay.example.test/hp_8f2k",
        "Geo": {},
        "MessageID": PM_ID,
        "Metadata": {},
        "ReceivedAt": "2026-12-02T17:11:30.0000000Z",
        "Tag": "",
        "Recipient": EMAIL,
    }


def _bounce() -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": PM_ID,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 user unknown",
        "Email": EMAIL,
        "From": "billing@dunwell.invalid",
        "BouncedAt": "2026-12-02T16:05:00.0000000Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Your payment",
        "Metadata": {},
    }


def _post(client, path: str, body: object, auth: str | None = None):
    return client.post(
        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth or _auth()
    )


def test_delivery_open_and_click_are_stored_then_recorded_on_the_message(
    client, sent_email, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            _post(client, POSTMARK_HOOK, body).status_code
            for body in (_delivery(), _open(), _click())
        ]
    assert answers == [200, 200, 200]
    assert ConnectorEvent.objects.filter(vendor="postmark", processed_at=None).count() == 3
    run_jobs()

    sent_email.refresh_from_db()
    assert sent_email.delivery == "delivered"
    assert sent_email.delivered_at.isoformat().startswith("2026-12-02T16:00:04")
    assert sent_email.opened_at.isoformat().startswith("2026-12-02T17:10:00")
    assert sent_email.clicked_at.isoformat().startswith("2026-12-02T17:11:30")
    assert message_life(action=sent_email.action).sentence() == "delivered, opened, link clicked"


def test_a_redelivered_open_is_kept_once_and_a_later_open_does_not_move_the_first(
    client, sent_email, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, POSTMARK_HOOK, _open())
        _post(client, POSTMARK_HOOK, _open())  # Postmark retried: the same event
        _post(client, POSTMARK_HOOK, _open(at="2026-12-03T09:00:00.0000000Z"))
    run_jobs()

    assert ConnectorEvent.objects.filter(vendor="postmark").count() == 2
    assert MessageEvent.objects.filter(message=sent_email, kind="opened").count() == 2
    sent_email.refresh_from_db()
    assert sent_email.opened_at.isoformat().startswith("2026-12-02T17:10:00")


def test_a_hard_bounce_after_delivery_is_the_last_word_with_postmarks_reason(
    client, sent_email, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, POSTMARK_HOOK, _bounce())
        _post(client, POSTMARK_HOOK, _delivery())  # arrives late
    run_jobs()

    sent_email.refresh_from_db()
    assert sent_email.delivery == "bounced"
    assert "unable to deliver your message" in sent_email.delivery_detail


@pytest.mark.parametrize("auth", [_auth(password="wrong"), "", "Bearer x"])
def test_a_webhook_without_the_right_basic_auth_is_refused_and_not_stored(client, sent_email, auth):
    response = client.post(
        POSTMARK_HOOK,
        json.dumps(_open()),
        content_type="application/json",
        **({"HTTP_AUTHORIZATION": auth} if auth else {}),
    )

    assert response.status_code == 400
    assert response.json()["error"] == "the webhook's credentials do not match"
    assert not ConnectorEvent.objects.exists()


def test_without_a_webhook_secret_email_webhooks_are_refused_with_the_reason(
    client, sent_email, settings
):
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "pm-server-token"}

    response = _post(client, POSTMARK_HOOK, _open())

    assert response.status_code == 403
    assert "DUNWELL_ANYMAIL_WEBHOOK_SECRET" in response.json()["error"]
    assert not ConnectorEvent.objects.exists()


def test_a_body_that_is_not_json_gets_a_reason_not_a_server_error(client, postmark):
    response = client.post(
        POSTMARK_HOOK, "not json{", content_type="application/json", HTTP_AUTHORIZATION=_auth()
    )

    assert response.status_code == 400
    assert response.json()["error"] == "the body is not this provider's tracking event"


# --- SendGrid: its send API and its event webhook (a JSON list of events) --------------
@pytest.fixture
def sendgrid_email(customer_case, peer, settings):
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {
        "SENDGRID_API_KEY": "SG.test-key",
        "SENDGRID_API_URL": f"{peer.url}/v3/",
        "WEBHOOK_SECRET": f"{HOOK_USER}:{HOOK_PASSWORD}",
    }
    peer.answer("POST", "/v3/mail/send", 202, "")
    result = message_deliver(action=message_action(customer_case()), links=LINKS)
    return OutboundMessage.objects.get(pk=result.message_id)


def _sendgrid(event: str, anymail_id: str, at: int, **more) -> dict:
    return {
        "email": EMAIL,
        "timestamp": at,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "sg_event_id": f"sg-{event}-{at}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "anymail_id": anymail_id,
        **more,
    }


def test_sendgrids_batch_of_events_is_recorded_once_per_sg_event_id(
    client, sendgrid_email, peer, run_jobs, django_capture_on_commit_callbacks
):
    assert peer.received[0].headers["Authorization"] == "Bearer SG.test-key"
    anymail_id = sendgrid_email.provider_id
    batch = [
        _sendgrid("delivered", anymail_id, 1796227200, response="250 OK"),
        _sendgrid("open", anymail_id, 1796230800, useragent="Mozilla/5.0", ip="192.0.2.1"),
        _sendgrid(
            "click",
            anymail_id,
            1796230860,
            url="https://pay.example.test/hp_8f2k",
            useragent="Mozilla/5.0",
            ip="192.0.2.1",
        ),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, "/webhooks/anymail/sendgrid/tracking/", batch)
        again = _post(client, "/webhooks/anymail/sendgrid/tracking/", batch)
    run_jobs()

    assert first.status_code == again.status_code == 200
    assert ConnectorEvent.objects.filter(vendor="sendgrid").count() == 3
    sendgrid_email.refresh_from_db()
    assert sendgrid_email.delivery == "delivered"
    assert sendgrid_email.opened_at is not None and sendgrid_email.clicked_at is not None
