"""Each object of an event is mirrored on its own; what cannot be is named on the event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from dunning.models import (
    ChargebeeEvent,
    Customer,
    EventState,
    Invoice,
    PaymentSource,
    Subscription,
    Transaction,
)
from dunning.sync.ingest import event_store
from dunning.sync.processing import event_process, event_reprocess, events_process_batch
from tests.conftest import SAMPLES, load_sample

pytestmark = pytest.mark.django_db

SHARED_SAMPLES = Path("/work/shared/chargebee/samples")
SAMPLE_FILES = sorted(SAMPLES.glob("*.json")) + (
    sorted(SHARED_SAMPLES.glob("*.json")) if SHARED_SAMPLES.is_dir() else []
)
MODELS = {
    "customer": Customer,
    "subscription": Subscription,
    "invoice": Invoice,
    "transaction": Transaction,
    "payment_source": PaymentSource,
}


def card_without_payment_source_id() -> dict:
    """An older site's payment_succeeded: its card carries no payment_source_id."""
    payload = load_sample("payment_succeeded")
    payload["content"]["customer"].pop("primary_payment_source_id", None)
    payload["content"]["card"] = {
        "status": "valid",
        "gateway": "chargebee",
        "iin": "411111",
        "last4": "1111",
        "card_type": "visa",
        "funding_type": "credit",
        "expiry_month": 1,
        "expiry_year": 2031,
        "customer_id": payload["content"]["customer"]["id"],
        "object": "card",
    }
    return payload


def with_an_unreadable_invoice() -> dict:
    """A payment_failed whose invoice cannot be mirrored (no customer_id) among good objects."""
    payload = load_sample("payment_failed")
    del payload["content"]["invoice"]["customer_id"]
    return payload


def process(payload: dict) -> ChargebeeEvent:
    event = event_store(payload=payload).event
    event_process(event_pk=event.pk)
    event.refresh_from_db()
    return event


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_sample_shape_is_mirrored_object_by_object(path):
    payload = json.loads(path.read_text())

    event = process(payload)

    assert event.state == EventState.PROCESSED, event.last_error
    for key, obj in payload["content"].items():
        if key in MODELS:
            assert MODELS[key].objects.filter(cb_id=obj["id"], resource_version__gt=0).exists(), key


def test_an_older_sites_card_without_payment_source_id_leaves_the_rest_mirrored():
    payload = card_without_payment_source_id()

    event = process(payload)

    assert event.state == EventState.PARTIAL
    assert "content.card has no payment_source_id" in event.last_error
    content = payload["content"]
    assert Transaction.objects.filter(cb_id=content["transaction"]["id"]).exists()
    assert Invoice.objects.get(cb_id=content["invoice"]["id"]).status == "paid"
    assert Subscription.objects.filter(cb_id=content["subscription"]["id"]).exists()
    assert Customer.objects.filter(cb_id=content["customer"]["id"], resource_version__gt=0).exists()


def test_a_legacy_card_is_the_customers_primary_payment_source_when_the_event_names_it():
    payload = load_sample("payment_failed")
    customer = payload["content"]["customer"]
    payload["content"]["card"] = {
        "status": "valid",
        "gateway": "chargebee",
        "iin": "411111",
        "last4": "4810",
        "card_type": "visa",
        "funding_type": "credit",
        "expiry_month": 6,
        "expiry_year": 2030,
        "customer_id": customer["id"],
        "object": "card",
    }

    event = process(payload)

    assert event.state == EventState.PROCESSED
    source = PaymentSource.objects.get(cb_id=customer["primary_payment_source_id"])
    assert (source.card_last4, source.card_expiry_year) == ("4810", 2030)


def test_one_broken_object_fails_alone_and_the_event_says_which():
    payload = with_an_unreadable_invoice()

    event = process(payload)

    assert event.state == EventState.PARTIAL
    assert event.outcome["warnings"] == [
        "content.invoice.customer_id is missing: invoice not mirrored"
    ]
    assert Transaction.objects.filter(cb_id=payload["content"]["transaction"]["id"]).exists()
    assert Customer.objects.filter(cb_id=payload["content"]["customer"]["id"]).exists()
    assert not Invoice.objects.filter(resource_version__gt=0).exists()


def test_the_batch_path_mirrors_the_same_way():
    payload = with_an_unreadable_invoice()
    event = event_store(payload=payload).event

    events_process_batch(event_pks=[event.pk])

    event.refresh_from_db()
    assert (event.state, event.last_error) == (
        EventState.PARTIAL,
        "content.invoice.customer_id is missing: invoice not mirrored",
    )
    assert Transaction.objects.filter(cb_id=payload["content"]["transaction"]["id"]).exists()


def test_a_payload_without_api_version_is_read_by_its_shape():
    v2 = load_sample("payment_failed")
    del v2["api_version"]
    v1 = load_sample("invoice_updated")
    v1.update(id="ev_v1_shape", webhooks=[{"id": "wh_1", "webhook_status": "scheduled"}])
    del v1["api_version"], v1["webhook_status"]
    invoice = v1["content"]["invoice"]
    invoice.update(id="v1_inv", amount=invoice.pop("total"), paid_on=0, start_date=0)
    for key in ("amount_to_collect", "next_retry_at", "linked_payments"):
        invoice.pop(key, None)

    as_v2, as_v1 = process(v2), process(v1)

    assert as_v2.state == EventState.PARTIAL
    assert as_v2.last_error.startswith("no api_version: read as v2 from its shape")
    assert Invoice.objects.filter(cb_id=v2["content"]["invoice"]["id"]).exists()
    assert as_v1.state == EventState.IGNORED
    assert "shape is API v1" in as_v1.outcome["reason"]
    assert not Invoice.objects.filter(cb_id="v1_inv").exists()


def test_a_partial_event_shows_its_reasons_in_the_event_log_and_can_be_reprocessed(
    client, admin_user
):
    payload = with_an_unreadable_invoice()
    event = process(payload)
    client.force_login(admin_user)

    listing = client.get(reverse("dunning:event_list"), {"state": "partial"}).content.decode()
    detail = client.get(reverse("dunning:event_detail", args=[event.pk])).content.decode()

    assert "Processed with warnings" in listing and event.event_id in listing
    assert "content.invoice.customer_id is missing: invoice not mirrored" in detail
    stored = ChargebeeEvent.objects.get(pk=event.pk)
    stored.payload["content"]["invoice"]["customer_id"] = payload["content"]["customer"]["id"]
    stored.save(update_fields=["payload"])
    assert event_reprocess(event=stored, user=admin_user).value == EventState.PROCESSED
    assert Invoice.objects.filter(
        cb_id=payload["content"]["invoice"]["id"], resource_version__gt=0
    ).exists()
