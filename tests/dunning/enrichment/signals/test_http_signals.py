"""A CRM or helpdesk adapter asked live over HTTP: its answer joins the decision's signals,
and an adapter that is slow or answers nonsense is skipped and named, never fatal."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from dunning.enrichment.signals.providers import signals_merged
from dunning.models import SupportTicket
from tests.http_peer import JsonPeer

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BOTH = [
    "dunning.enrichment.signals.providers.DatabaseSignals",
    "dunning.enrichment.signals.http_provider.HttpSignals",
]


@pytest.fixture
def adapter(settings):
    # A stand-in for the small service a team puts in front of its CRM.
    adapter = JsonPeer(path="/signals", answer={"signals": {}})
    settings.SIGNAL_PROVIDERS = BOTH
    settings.SIGNALS_HTTP_URL = adapter.url
    settings.SIGNALS_HTTP_TOKEN = "crm-adapter-token"
    yield adapter
    adapter.close()


@pytest.mark.django_db
def test_a_crm_adapter_adds_tier_and_lifetime_value_to_what_the_helpdesk_tables_say(adapter):
    SupportTicket.objects.create(
        ticket_id="t1",
        customer_cb_id="cus_1",
        created_at=AT,
        topic="payment_failed",
        body="Please call me back",
        sentiment=-0.5,
    )
    adapter.answer = {
        "signals": {
            "crm_tier": "enterprise",
            "crm_lifetime_value": 4_200_000,
            "payment_tickets_30d": 9,
            "unknown_field": "ignored",
        }
    }

    signals = signals_merged(customer_id="cus_1", at=AT)

    assert (signals.crm_tier, signals.crm_lifetime_value) == ("enterprise", 4_200_000)
    assert signals.payment_tickets_30d == 1  # the database answered first: it wins
    assert signals.worst_sentiment_30d == -0.5
    assert signals.sources == ("database", "http")
    [(query, auth)] = adapter.requests
    assert query == {"customer_id": ["cus_1"], "at": [str(int(AT.timestamp()))]}  # nothing else
    assert auth == "Bearer crm-adapter-token"


@pytest.mark.django_db
def test_a_slow_adapter_is_given_up_after_two_seconds_and_named_in_the_sources(adapter):
    adapter.delay = 3.0
    started = time.monotonic()

    signals = signals_merged(customer_id="cus_1", at=AT)

    assert time.monotonic() - started < 2.9
    assert signals.sources[0] == "database"
    assert signals.sources[1].startswith("http failed:")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "answer",
    [{"signals": {"open_tickets": "many"}}, {"signals": {"worst_sentiment_30d": -3}}, ["no"]],
)
def test_an_adapter_answering_nonsense_is_skipped_and_named(adapter, answer):
    adapter.answer = answer

    signals = signals_merged(customer_id="cus_1", at=AT)

    assert signals.crm_tier == "" and signals.open_tickets == 0
    assert signals.sources[1].startswith("http failed:")
