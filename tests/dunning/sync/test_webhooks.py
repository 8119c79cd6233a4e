"""The webhook endpoint: who gets in, what is refused and why, and that nothing is lost."""

from __future__ import annotations

import json

import pytest

from dunning.models import ChargebeeEvent, EventState, Invoice, RejectedWebhook
from dunning.sync.outbox import events_relay
from tests.conftest import basic_auth, load_sample

pytestmark = pytest.mark.django_db


def test_chargebee_event_is_stored_and_acknowledged(post_webhook):
    response = post_webhook(load_sample("payment_failed"))

    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event": "ev_3Nl7oGgQqGG8UK4s"}
    event = ChargebeeEvent.objects.get()
    assert event.event_type == "payment_failed"
    assert event.state == EventState.RECEIVED
    assert event.payload["content"]["invoice"]["id"] == "6"


@pytest.mark.parametrize("indent", [None, 2])
def test_stored_event_holds_the_whole_body_chargebee_sent(post_webhook, indent):
    sample = load_sample("payment_succeeded")
    sample["content"]["invoice"]["amount_paid"] = 1234.5
    sample["content"]["customer"]["first_name"] = "Zoë"

    response = post_webhook(json.dumps(sample, indent=indent, ensure_ascii=False))

    assert response.status_code == 200
    assert ChargebeeEvent.objects.get().payload == sample


def test_nesting_too_deep_behind_a_short_body_is_still_refused(post_webhook):
    nested = "[" * 70 + "]" * 70
    response = post_webhook(f'{{"id": "ev_1", "event_type": "x", "content": {{"a": {nested}}}}}')

    assert response.status_code == 400
    assert "nests deeper" in response.json()["error"]
    assert not ChargebeeEvent.objects.exists()


@pytest.mark.parametrize(
    "auth",
    [
        None,
        basic_auth("chargebee", "wrong-password"),
        basic_auth("someone-else", "sandbox-webhook-secret"),
        "Basic not-base64!!",
        "Bearer sandbox-webhook-secret",
        "Basic " + "Y2hhcmdlYmVl",  # "chargebee" with no colon
    ],
    ids=["missing", "wrong-password", "wrong-user", "bad-base64", "wrong-scheme", "no-colon"],
)
def test_webhook_without_valid_credentials_is_refused_and_not_stored(post_webhook, auth):
    response = post_webhook(load_sample("payment_failed"), auth=auth)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not ChargebeeEvent.objects.exists()
    assert not RejectedWebhook.objects.exists()


def test_credentials_are_compared_in_constant_time(monkeypatch, post_webhook):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    post_webhook(load_sample("payment_failed"))
    assert len(calls) == 2


def test_body_over_one_mebibyte_is_refused_with_413(post_webhook):
    event = load_sample("payment_failed")
    event["content"]["padding"] = "x" * (1024 * 1024)

    response = post_webhook(event)

    assert response.status_code == 413
    assert "larger than" in response.json()["error"]
    assert not ChargebeeEvent.objects.exists()
    assert RejectedWebhook.objects.get().status_code == 413


def test_body_longer_than_its_content_length_claims_is_cut_and_refused(client):
    body = json.dumps(load_sample("payment_failed")).encode() + b" " * (1024 * 1024)
    from django.conf import settings

    auth = basic_auth(settings.CHARGEBEE_WEBHOOK_USERNAME, settings.CHARGEBEE_WEBHOOK_PASSWORD)
    response = client.generic(
        "POST",
        "/webhooks/chargebee/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
        CONTENT_LENGTH="100",
    )
    # Only the declared 100 bytes are read: truncated JSON is a 400, never a crash.
    assert response.status_code == 400
    assert not ChargebeeEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"id": "ev_1", "event_type": "payment_failed"', "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (
            json.dumps({"event_type": "payment_failed", "content": {}}),
            "missing required field(s): id",
        ),
        (json.dumps({"id": "ev_1", "content": {}}), "event_type"),
        (json.dumps({"id": "ev_1", "event_type": "payment_failed"}), "content"),
        (json.dumps({"id": 42, "event_type": "payment_failed", "content": {}}), "id must be"),
        (json.dumps({"id": "ev_1", "event_type": "x", "content": []}), "content must be"),
        (
            json.dumps({"id": "ev_1", "event_type": "x", "content": {}, "occurred_at": "soon"}),
            "occurred_at",
        ),
    ],
)
def test_malformed_body_gets_400_with_a_reason_and_is_kept_for_inspection(
    post_webhook, body, reason
):
    response = post_webhook(body)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not ChargebeeEvent.objects.exists()
    rejected = RejectedWebhook.objects.get()
    assert reason in rejected.reason


def test_wrong_content_type_gets_415(post_webhook):
    response = post_webhook(json.dumps(load_sample("payment_failed")), content_type="text/plain")
    assert response.status_code == 415


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/chargebee/").status_code == 405


def test_duplicate_delivery_returns_200_and_is_processed_once(
    post_webhook, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post_webhook(load_sample("payment_failed"))
    run_jobs()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = post_webhook(load_sample("payment_failed"))

    assert first.json()["status"] == "accepted"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert callbacks == []  # nothing new to enqueue
    event = ChargebeeEvent.objects.get()
    assert (event.state, event.attempts) == (EventState.PROCESSED, 1)


def test_card_numbers_in_a_payload_are_masked_before_storage(post_webhook):
    event = load_sample("payment_failed")
    event["content"]["customer"]["cf_notes"] = "customer read out 4111 1111 1111 1111 on the phone"
    event["content"]["customer"]["cvv"] = "123"

    post_webhook(event)

    stored = ChargebeeEvent.objects.get().payload["content"]["customer"]
    assert "4111 1111 1111 1111" not in json.dumps(stored)
    assert stored["cf_notes"].endswith("************1111 on the phone")
    assert "cvv" not in stored


@pytest.mark.parametrize(
    "notes",
    [
        "4111-1111-1111-1111",  # a card number with hyphens, in an otherwise clean payload
        "\\u0034111 1111 1111 1111",  # its first digit escaped: the text pre-check can't see it
    ],
    ids=["hyphens", "escaped-digit"],
)
def test_card_numbers_however_written_in_the_body_are_masked_before_storage(post_webhook, notes):
    body = json.dumps(load_sample("payment_failed")).replace(
        '"customer": {', f'"customer": {{"cf_notes": "card {notes}", "\\u0063vv": "123", ', 1
    )
    assert '"cf_notes"' in body

    post_webhook(body)

    stored = ChargebeeEvent.objects.get().payload["content"]["customer"]
    assert stored["cf_notes"] == "card ************1111"
    assert "cvv" not in stored


def test_event_is_kept_when_redis_is_down_and_processed_by_the_relay(
    post_webhook, redis_outage, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(load_sample("payment_failed"))

    assert response.status_code == 200
    assert ChargebeeEvent.objects.get().state == EventState.RECEIVED

    redis_outage.end()
    assert events_relay(include_recent=True) == 1
    run_jobs()
    assert ChargebeeEvent.objects.get().state == EventState.PROCESSED
    assert Invoice.objects.get(cb_id="6").dunning_status == "in_progress"


@pytest.mark.django_db(transaction=True)
def test_database_down_answers_503_so_chargebee_delivers_again(post_webhook, database_outage):
    with database_outage:
        response = post_webhook(load_sample("payment_failed"))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert not ChargebeeEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            b'{"id": "ev_1", "event_type": "x", "content": {"amount": NaN}}',
            "NaN is not a JSON number",
        ),
        (
            b'{"id": "ev_1", "event_type": "x", "content": {"amount": -Infinity}}',
            "-Infinity is not a JSON number",
        ),
        (b'{"id": "ev_1", "event_type": "x", "content": {"note": "a\\u0000b"}}', "NUL characters"),
    ],
)
def test_json_no_database_can_store_is_refused_with_400(post_webhook, body, reason):
    response = post_webhook(body)

    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not ChargebeeEvent.objects.exists()
