"""The sandbox's card updater: a lookup that finds a newer card updates it in Chargebee."""

from __future__ import annotations

import httpx
import pytest

from dunning.sync.chargebee_client import chargebee_client
from sandbox.card_updater import PATH, network_knows
from tests.conftest import failed_renewal


@pytest.fixture
def card(sandbox):
    failed_renewal(sandbox, behaviour=["expired_card"])
    return next(iter(sandbox.payment_sources.values()))


def ask(sandbox_server, body, *, key=None, content=None):
    return httpx.post(
        sandbox_server.url + PATH,
        json=body if content is None else None,
        content=content,
        headers={"Content-Type": "application/json"},
        auth=(key or sandbox_server.sandbox.api_key, ""),
    )


def test_a_lookup_that_finds_a_newer_card_updates_chargebee_and_fires_the_event(
    sandbox, sandbox_server, card
):
    network_knows(
        sandbox, payment_source_id=card["id"], expiry_month=3, expiry_year=2031, last4="1881"
    )

    answer = ask(
        sandbox_server, {"customer_id": card["customer_id"], "payment_source_id": card["id"]}
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["result"] == "updated" and body["reference"].startswith("au_")
    assert body["card"] == {
        "last4": "1881",
        "expiry_month": 3,
        "expiry_year": 2031,
        "brand": "visa",
    }
    seen_by_sdk = chargebee_client().PaymentSource.retrieve(card["id"]).payment_source
    assert (seen_by_sdk.card.last4, seen_by_sdk.card.expiry_year) == ("1881", 2031)
    event = sandbox.events[-1]
    assert (event["event_type"], event["source"]) == ("payment_source_updated", "external_service")
    assert event["content"]["payment_source"]["id"] == card["id"]
    # Delivered once: asked again, the network knows nothing newer than what is on file.
    assert ask(sandbox_server, {"payment_source_id": card["id"]}).json()["result"] == "no_update"


def test_a_closed_account_changes_nothing_in_chargebee(sandbox, sandbox_server, card):
    network_knows(sandbox, payment_source_id=card["id"], closed=True)
    events = len(sandbox.events)

    assert ask(sandbox_server, {"payment_source_id": card["id"]}).json()["result"] == "closed"
    assert len(sandbox.events) == events


def test_bad_lookups_get_a_reason(sandbox, sandbox_server, card):
    assert ask(sandbox_server, {"payment_source_id": "pm_nope"}).status_code == 404
    assert ask(sandbox_server, {}).json()["param"] == "payment_source_id"
    assert ask(sandbox_server, None, content=b"{not json").status_code == 400
    assert ask(sandbox_server, {"payment_source_id": card["id"]}, key="wrong").status_code == 401
