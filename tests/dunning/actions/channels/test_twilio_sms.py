"""SMS through Twilio's REST API, and its status callbacks recorded on the message.

The local peer answers in Twilio's documented shapes: a Message resource on 201, and the
error body ``{code, message, more_info, status}`` on 400, 401, 429 and 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from dunning.actions.channels.delivery import message_deliver
from dunning.actions.channels.message_life import message_life
from dunning.actions.channels.provider_webhooks import message_webhooks_relay_job
from dunning.models import ConnectorEvent, ConnectorHealth, MessageEvent, OutboundMessage
from tests.dunning.actions.channels.conftest import PHONE, message_action

pytestmark = pytest.mark.django_db

SID = "AC" + "a1" * 16
TOKEN = "twilio-auth-token-test"
MESSAGES = f"/2010-04-01/Accounts/{SID}/Messages.json"
LINKS = {"pay_link": "https://pay.example.test/hp_8f2k"}


def _error(code: int, message: str, status: int) -> dict:
    return {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


def _message_resource(sid: str = "SM" + "f0" * 16) -> dict:
    return {
        "sid": sid,
        "account_sid": SID,
        "to": PHONE,
        "from": "+15005550006",
        "status": "queued",
        "body": "...",
        "num_segments": "1",
        "error_code": None,
        "api_version": "2010-04-01",
        "uri": f"{MESSAGES[:-5]}/{sid}.json",
    }


@pytest.fixture
def twilio(peer, connect, monkeypatch, settings):
    monkeypatch.setenv("DUNWELL_TWILIO_AUTH_TOKEN", TOKEN)
    settings.PUBLIC_BASE_URL = "https://dunwell.example.com"
    connect(
        sms="twilio",
        twilio={"base_url": peer.url, "account_sid": SID, "from_number": "+15005550006"},
    )
    return peer


def test_an_sms_goes_to_twilio_form_encoded_with_the_status_callback(customer_case, twilio):
    twilio.answer("POST", MESSAGES, 201, _message_resource())
    action = message_action(customer_case(), channel="sms")

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "sent"
    sent = twilio.received[0]
    assert sent.form["To"] == PHONE and sent.form["From"] == "+15005550006"
    assert sent.form["StatusCallback"] == "https://dunwell.example.com/webhooks/twilio/status/"
    assert "https://pay.example.test/hp_8f2k" in sent.form["Body"]
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected_auth}"
    message = OutboundMessage.objects.get(pk=result.message_id)
    assert (message.provider, message.provider_id) == ("twilio", "SM" + "f0" * 16)


def test_a_messaging_service_sends_instead_of_a_from_number(customer_case, twilio, connect):
    connect(twilio={"messaging_service_sid": "MG" + "0" * 32})
    twilio.answer("POST", MESSAGES, 201, _message_resource())

    message_deliver(action=message_action(customer_case(), channel="sms"), links=LINKS)

    form = twilio.received[0].form
    assert form["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in form


@pytest.mark.parametrize(
    "code, words",
    [
        (21211, "The 'To' number +4915112345678 is not a valid phone number."),
        (21610, "Attempt to send to unsubscribed recipient"),
    ],
)
def test_a_number_twilio_refuses_is_refused_for_good_with_its_reason(
    customer_case, twilio, code, words
):
    twilio.answer("POST", MESSAGES, 400, _error(code, words, 400))
    action = message_action(customer_case(), channel="sms")

    result = message_deliver(action=action, links=LINKS)

    assert result.status == "refused"
    assert str(code) in result.reason and words in result.reason
    assert OutboundMessage.objects.get(pk=result.message_id).status == "failed"


@pytest.mark.parametrize(
    "status, body, headers, words",
    [
        (
            429,
            _error(20429, "Too Many Requests", 429),
            {"Retry_After": "30"},
            "rate-limiting Dunwell (429); retry after 30 s",
        ),
        (503, _error(20500, "Internal Server Error", 503), {}, "server error (503)"),
        (
            401,
            _error(20003, "Authenticate", 401),
            {},
            "refused the credentials (401): check DUNWELL_TWILIO_AUTH_TOKEN",
        ),
    ],
)
def test_a_twilio_that_cannot_take_it_now_defers_and_the_next_attempt_sends_once(
    customer_case, twilio, status, body, headers, words
):
    twilio.answer("POST", MESSAGES, status, body, **headers)
    twilio.answer("POST", MESSAGES, 201, _message_resource())
    action = message_action(customer_case(), channel="sms")

    first = message_deliver(action=action, links=LINKS)
    second = message_deliver(action=action, links=LINKS)
    third = message_deliver(action=action, links=LINKS)

    assert first.status == "deferred" and words in first.reason
    assert (second.status, third.status, third.reason) == ("sent", "sent", "already sent")
    assert len(twilio.received) == 2
    health = ConnectorHealth.objects.get(connector="twilio")
    assert (health.failures, health.successes) == (1, 1)


# --- the status callback --------------------------------------------------------------
CALLBACK = "https://dunwell.example.com/webhooks/twilio/status/"


def _signed(params: dict, *, token: str = TOKEN, url: str = CALLBACK) -> str:
    """Twilio's documented signature, computed independently of the code under test."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _callback(client, params: dict, signature: str | None = None):
    return client.post(
        reverse("twilio_status"),
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature if signature is not None else _signed(params),
    )


def _status(sid: str, status: str, **more) -> dict:
    return {
        "AccountSid": SID,
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": PHONE,
        **more,
    }


@pytest.fixture
def sent_sms(customer_case, twilio):
    twilio.answer("POST", MESSAGES, 201, _message_resource())
    result = message_deliver(action=message_action(customer_case(), channel="sms"), links=LINKS)
    return OutboundMessage.objects.get(pk=result.message_id)


def test_status_callbacks_are_stored_then_recorded_and_a_late_sent_does_not_undo_delivered(
    client, sent_sms, run_jobs, django_capture_on_commit_callbacks
):
    sid = sent_sms.provider_id
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            _callback(client, _status(sid, s)).status_code for s in ("queued", "delivered", "sent")
        ]
    assert ConnectorEvent.objects.filter(vendor="twilio").count() == 3  # stored before the job
    run_jobs()

    assert answers == [200, 200, 200]
    sent_sms.refresh_from_db()
    assert sent_sms.delivery == "delivered" and sent_sms.delivered_at is not None
    assert list(sent_sms.events.values_list("kind", flat=True)) == ["queued", "delivered", "sent"]


def test_an_undelivered_sms_keeps_twilios_error_code_and_a_repeat_is_acknowledged_once(
    client, sent_sms, run_jobs, django_capture_on_commit_callbacks
):
    params = _status(sent_sms.provider_id, "undelivered", ErrorCode="30003")
    with django_capture_on_commit_callbacks(execute=True):
        first = _callback(client, params)
        again = _callback(client, params)
    run_jobs()

    assert first.json() == {"received": True}
    assert again.json() == {"received": True, "duplicate": True}
    sent_sms.refresh_from_db()
    assert (sent_sms.delivery, sent_sms.delivery_detail) == ("undelivered", "Twilio error 30003")
    assert MessageEvent.objects.filter(message=sent_sms).count() == 1
    life = message_life(action=sent_sms.action)
    assert (life.state, life.sentence()) == ("undelivered", "not delivered: Twilio error 30003")


def test_the_outbox_shows_what_twilio_said(
    client, manager, sent_sms, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _callback(client, _status(sent_sms.provider_id, "delivered"))
    run_jobs()
    client.force_login(manager)

    page = client.get(reverse("dunning:outbox")).content.decode()

    assert 'data-delivery="delivered">delivered<' in page


@pytest.mark.parametrize(
    "signature, status, words",
    [
        ("forged", 400, "the X-Twilio-Signature does not match"),
        ("", 400, "the X-Twilio-Signature does not match"),
    ],
)
def test_a_callback_without_twilios_signature_is_refused_and_not_stored(
    client, sent_sms, signature, status, words
):
    response = _callback(client, _status(sent_sms.provider_id, "delivered"), signature)

    assert (response.status_code, response.json()["error"]) == (status, words)
    assert not ConnectorEvent.objects.filter(vendor="twilio").exists()


def test_a_callback_signed_for_another_url_or_token_is_refused(client, sent_sms):
    params = _status(sent_sms.provider_id, "delivered")

    other_url = _callback(client, params, _signed(params, url="https://evil.example/x"))
    other_token = _callback(client, params, _signed(params, token="someone-else"))

    assert other_url.status_code == other_token.status_code == 400


def test_without_an_auth_token_callbacks_are_refused_with_the_reason(client, sent_sms, monkeypatch):
    monkeypatch.delenv("DUNWELL_TWILIO_AUTH_TOKEN")

    response = _callback(client, _status(sent_sms.provider_id, "delivered"))

    assert response.status_code == 403 and "no Twilio auth token" in response.json()["error"]


def test_a_signed_body_that_is_not_a_status_callback_gets_a_reason(client, twilio):
    response = _callback(client, {"Hello": "world"})

    assert response.status_code == 400 and "MessageSid" in response.json()["error"]


def test_a_stored_callback_whose_job_was_lost_is_relayed(client, sent_sms, run_jobs):
    _callback(client, _status(sent_sms.provider_id, "delivered"))  # on-commit never runs here
    ConnectorEvent.objects.update(received_at=timezone.now() - timedelta(minutes=10))

    assert message_webhooks_relay_job() == 1
    run_jobs()

    sent_sms.refresh_from_db()
    assert sent_sms.delivery == "delivered"


@pytest.mark.parametrize(
    "url", ["/webhooks/twilio/status/", "/webhooks/stripe/", "/webhooks/zendesk/"]
)
@pytest.mark.parametrize(
    "header, status, words",
    [
        ("12abc", 400, "Content-Length must be a number of bytes"),
        ("-5", 400, "Content-Length must be a number of bytes"),
        (str(2**40), 413, "the body is over"),
    ],
)
def test_a_vendor_webhook_with_a_content_length_that_is_not_a_byte_count_gets_a_reason(
    client, url, header, status, words
):
    response = client.post(
        url,
        "MessageSid=SM1",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=header,
    )

    assert response.status_code == status and words in response.json()["error"]
    assert not ConnectorEvent.objects.exists()
