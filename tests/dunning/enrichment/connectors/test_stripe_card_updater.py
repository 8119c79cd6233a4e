"""Stripe's automatically updated cards behind the card-updater interface, and its webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from dunning.enrichment.card_updater.answers import Outcome
from dunning.enrichment.card_updater.lookup import card_update_lookup
from dunning.models import ConnectorEvent, PaymentSource
from tests.dunning.decided import decided_invoice

pytestmark = pytest.mark.django_db

PM = "/v1/payment_methods/pm_1Q0PsIJvEtkwdCNY"
SECRET = "whsec_test_secret"


@pytest.fixture
def stripe(peer, connect, monkeypatch):
    monkeypatch.setenv("DUNWELL_STRIPE_SECRET_KEY", "rk_test_123")
    monkeypatch.setenv("DUNWELL_STRIPE_WEBHOOK_SECRET", SECRET)
    connect(card_updater="stripe", stripe={"base_url": peer.url})
    return peer


@pytest.fixture
def card(db):
    decided_invoice(1, decline_code="54")
    PaymentSource.objects.filter(cb_id="pm_1").update(
        gateway="stripe",
        card_last4="4242",
        card_expiry_month=10,
        card_expiry_year=2026,
        raw={"reference_id": "cus_Q0Ps/pm_1Q0PsIJvEtkwdCNY"},
    )
    cache.clear()  # the decision above asked the default updater; this test asks Stripe
    return PaymentSource.objects.get(cb_id="pm_1")


def _method(**card) -> dict:
    return {
        "id": "pm_1Q0PsIJvEtkwdCNY",
        "object": "payment_method",
        "type": "card",
        "customer": "cus_Q0Ps",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 10, "exp_year": 2026, **card},
    }


def ask(card):
    return card_update_lookup(
        customer_id="cus_1", payment_source=card, failed_at=timezone.now() - timedelta(minutes=1)
    )


def test_a_card_the_network_reissued_comes_back_as_a_new_expiry(stripe, card):
    stripe.answer("GET", PM, 200, _method(exp_year=2030))

    finding = ask(card)

    assert (finding.outcome, finding.adapter, finding.kind) == (
        Outcome.UPDATED,
        "stripe",
        "new_expiry",
    )
    assert finding.reference == "pm_1Q0PsIJvEtkwdCNY"
    assert stripe.received[0].headers["Authorization"] == "Bearer rk_test_123"


def test_a_replacement_number_is_a_new_card_and_an_unchanged_one_is_no_update(stripe, card):
    stripe.answer("GET", PM, 200, _method(last4="1881", exp_year=2031))
    assert ask(card).last4 == "1881"

    cache.clear()
    stripe.routes.clear()
    stripe.answer("GET", PM, 200, _method())
    assert ask(card).outcome == Outcome.NO_UPDATE


@pytest.mark.parametrize(
    ("status", "body", "outcome", "says"),
    [
        (
            404,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": "No such PaymentMethod: 'pm_1Q0PsIJvEtkwdCNY'",
                }
            },
            Outcome.NO_UPDATE,
            "",
        ),
        (
            401,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid API Key provided: rk_test_***123",
                }
            },
            Outcome.UNAVAILABLE,
            "DUNWELL_STRIPE_SECRET_KEY",
        ),
        (
            429,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Too many requests",
                }
            },
            Outcome.UNAVAILABLE,
            "429",
        ),
        (
            500,
            {"error": {"type": "api_error", "message": "Something went wrong"}},
            Outcome.UNAVAILABLE,
            "server error",
        ),
    ],
)
def test_stripe_errors_never_block_the_decision(stripe, card, status, body, outcome, says):
    stripe.answer("GET", PM, status, body)

    finding = ask(card)

    assert finding.outcome == outcome
    assert says in finding.detail


def _signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> str:
    t = at or int(time.time())
    return (
        f"t={t},v1={hmac.new(secret.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"
    )


def _event(event_id: str = "evt_1") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_method.automatically_updated",
            "data": {"object": _method(exp_year=2030)},
        }
    ).encode()


def test_a_signed_card_update_event_is_stored_then_drops_the_cached_answer(
    client, stripe, card, run_jobs, django_capture_on_commit_callbacks
):
    stripe.answer("GET", PM, 200, _method())
    assert ask(card).outcome == Outcome.NO_UPDATE  # cached now
    body = _event()

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            reverse("stripe_webhook"),
            body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=_signed(body),
        )
    again = client.post(
        reverse("stripe_webhook"),
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signed(body),
    )
    run_jobs()

    assert first.status_code == 200 and again.json()["duplicate"] is True
    event = ConnectorEvent.objects.get()
    assert event.processed_at is not None and "pm_1" in event.outcome
    stripe.routes.clear()
    stripe.answer("GET", PM, 200, _method(exp_year=2030))
    assert ask(card).outcome == Outcome.UPDATED  # asked again, not the cached "no update"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("", "does not match"),
        ("t=1,v1=00", "does not match"),
        ("forged", "does not match"),
    ],
)
def test_an_unsigned_or_forged_stripe_event_is_refused_and_not_stored(client, stripe, header, why):
    response = client.post(
        reverse("stripe_webhook"),
        _event(),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )

    assert response.status_code == 400 and why in response.json()["error"]
    assert not ConnectorEvent.objects.exists()


def test_an_old_signature_is_refused_as_a_replay(client, stripe):
    body = _event()
    response = client.post(
        reverse("stripe_webhook"),
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signed(body, at=int(time.time()) - 600),
    )

    assert response.status_code == 400


def test_a_signed_body_that_is_not_an_event_gets_400_with_a_reason(client, stripe):
    body = b"[1, 2]"
    response = client.post(
        reverse("stripe_webhook"),
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=_signed(body),
    )

    assert response.status_code == 400 and "not a Stripe event" in response.json()["error"]
