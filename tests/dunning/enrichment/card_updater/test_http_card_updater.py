"""The HTTP card updater interface (docs/card_updater.md) against a local stand-in service,
and the lookup a decision makes: cached per card, and an updater outage never blocks it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from dunning.decisions.policy_settings.guardrails import guardrails_update
from dunning.enrichment.card_updater.adapters import CardUpdaterUnavailable, HttpCardUpdater
from dunning.enrichment.card_updater.answers import Outcome, UpdateKind
from dunning.enrichment.card_updater.lookup import card_update_lookup
from dunning.models import ActionKind, PaymentSource
from tests.dunning.decided import decided_invoice
from tests.http_peer import JsonPeer

pytestmark = pytest.mark.django_db


@pytest.fixture
def updater(settings):
    # A stand-in for the service a team puts in front of its gateway's account updater.
    updater = JsonPeer(path="/lookup", answer={"result": "no_update", "reference": "au_1"})
    settings.CARD_UPDATER_URL = updater.url
    settings.CARD_UPDATER_TOKEN = "updater-token"
    settings.CARD_UPDATER_TIMEOUT_SECONDS = 0.5
    yield updater
    updater.close()


@pytest.fixture
def card(db):
    decided_invoice(1, decline_code="54")
    card = PaymentSource.objects.get(cb_id="pm_1")
    PaymentSource.objects.filter(pk=card.pk).update(
        card_last4="4242",
        card_expiry_month=10,
        card_expiry_year=2026,
        raw={"reference_id": "cus_stripe/card_1"},
    )
    card.refresh_from_db()
    return card


def lookup(card, updater):
    return HttpCardUpdater(updater.url, "updater-token").lookup(
        customer_id="cus_1", payment_source=card
    )


def test_a_replacement_card_comes_back_with_last4_expiry_and_the_updaters_reference(card, updater):
    updater.answer = {
        "result": "updated",
        "reference": "au_77",
        "card": {"last4": "1881", "expiry_month": 4, "expiry_year": 2030},
    }

    update = lookup(card, updater)

    assert (update.kind, update.last4, update.expiry_month, update.expiry_year) == (
        UpdateKind.NEW_CARD,
        "1881",
        4,
        2030,
    )
    assert update.reference == "au_77"
    sent, auth = updater.requests[0]
    assert auth == "Basic " + base64.b64encode(b"updater-token:").decode()
    assert sent["payment_source_id"] == "pm_1" and sent["reference_id"] == "cus_stripe/card_1"
    assert sent["card_last4"] == "4242"
    # Never a card number: ids, the gateway's token, brand, last four and expiry only.
    assert set(sent) == {
        "customer_id",
        "payment_source_id",
        "gateway",
        "gateway_account_id",
        "reference_id",
        "card_brand",
        "card_last4",
        "card_expiry_month",
        "card_expiry_year",
    }


def test_the_same_card_with_a_later_expiry_is_a_new_expiry(card, updater):
    updater.answer = {
        "result": "updated",
        "reference": "au_2",
        "card": {"last4": "4242", "expiry_month": 10, "expiry_year": 2030},
    }

    assert lookup(card, updater).kind == UpdateKind.NEW_EXPIRY


def test_a_closed_account_and_nothing_newer_are_told_apart(card, updater):
    updater.answer = {"result": "closed", "reference": "au_3"}
    assert lookup(card, updater).kind == UpdateKind.CLOSED

    updater.answer = {"result": "no_update"}
    assert lookup(card, updater) is None

    updater.status, updater.answer = 404, {"error": "unknown card"}
    assert lookup(card, updater) is None


@pytest.mark.parametrize(
    ("status", "answer", "delay", "why"),
    [
        (500, {"error": "boom"}, 0.0, "HTTP 500"),
        (200, b"<html>maintenance</html>", 0.0, "not JSON"),
        (200, {"result": "maybe"}, 0.0, "result"),
        (200, {"result": "updated", "card": {"last4": "18"}}, 0.0, "four digits"),
        (200, {"result": "no_update"}, 1.0, "Timeout"),
    ],
)
def test_an_updater_that_fails_or_answers_nonsense_is_unavailable(
    card, updater, status, answer, delay, why
):
    updater.status, updater.answer, updater.delay = status, answer, delay

    with pytest.raises(CardUpdaterUnavailable, match=why):
        lookup(card, updater)


def test_a_burst_of_decisions_about_one_card_asks_the_updater_once(card, updater):
    failed_at = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    first = card_update_lookup(customer_id="cus_1", payment_source=card, failed_at=failed_at)
    second = card_update_lookup(customer_id="cus_1", payment_source=card, failed_at=failed_at)

    assert len(updater.requests) == 1
    assert (first.outcome, first.cached, second.cached) == (Outcome.NO_UPDATE, False, True)


def test_a_decline_after_the_cached_answer_asks_the_updater_again(card, updater):
    card_update_lookup(customer_id="cus_1", payment_source=card, failed_at=timezone.now())

    later = timezone.now() + timedelta(minutes=1)
    card_update_lookup(customer_id="cus_1", payment_source=card, failed_at=later)

    assert len(updater.requests) == 2


def test_an_updater_outage_is_recorded_and_the_customer_is_still_asked(settings, admin_user):
    settings.CARD_UPDATER_URL = "http://127.0.0.1:1/lookup"  # nothing listens there
    guardrails_update(changes={"default_mode": "auto"}, user=admin_user, note="go live")

    decision = decided_invoice(1, decline_code="54")  # expired card

    finding = decision.features["card_updater"]
    assert finding["outcome"] == Outcome.UNAVAILABLE and finding["detail"]
    assert "the card updater could not be asked" in decision.reasoning
    assert decision.actions.filter(kind=ActionKind.PAYMENT_METHOD_LINK).exists()
    assert not decision.actions.filter(kind=ActionKind.RETRY).exists()
