"""Processing stored events into the mirror: every sample, in any order, any number of times."""

from __future__ import annotations

import copy

import pytest
from django.utils import timezone

from dunning.helpers.queueing import get_queue
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
from dunning.sync.outbox import CLAIM_TIMEOUT, events_nudge_clear, events_relay
from dunning.sync.processing import ProcessResult, event_process
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


def ingest(sample: dict | str) -> ChargebeeEvent:
    payload = load_sample(sample) if isinstance(sample, str) else sample
    return event_store(payload=payload).event


def process(sample: dict | str) -> ChargebeeEvent:
    event = ingest(sample)
    event_process(event_pk=event.pk)
    event.refresh_from_db()
    return event


def test_payment_failed_fills_the_mirror_with_the_decline():
    event = process("payment_failed")

    assert event.state == EventState.PROCESSED
    invoice = Invoice.objects.get(cb_id="6")
    assert (invoice.status, invoice.dunning_status) == ("payment_due", "in_progress")
    assert (invoice.amount_due, invoice.total, invoice.currency_code) == (224, 1095, "USD")
    assert invoice.next_retry_at.timestamp() == 1364931655
    assert invoice.customer.display_name == "Joe Ross"
    assert invoice.subscription.plan_id == "no_trial"
    assert invoice.subscription.catalog_version == 1
    txn = Transaction.objects.get(cb_id="txn_3Nl7oGgQqGG8Pp4m")
    assert (txn.status, txn.error_code, txn.error_text) == ("failure", "3001", "Insufficient funds")
    assert (txn.invoice, txn.amount, txn.gateway, txn.card_last4) == (
        invoice,
        224,
        "chargebee",
        "4810",
    )
    customer = Customer.objects.get(cb_id="3Nl7oGgQqGFprj9")
    assert (customer.auto_collection, customer.payment_method_status) == ("on", "valid")
    assert customer.primary_payment_source_id == "pm_3Nl7oGgQqGG6Jr42"


def test_payment_succeeded_marks_the_invoice_paid_and_dunning_stopped():
    process("payment_succeeded")

    invoice = Invoice.objects.get(cb_id="22")
    assert (invoice.status, invoice.dunning_status, invoice.amount_due) == ("paid", "stopped", 0)
    assert Transaction.objects.get(cb_id="txn_AzqYRySIstMLf6N").status == "success"


@pytest.mark.parametrize(
    ("sample", "check"),
    [
        ("invoice_generated", lambda: Invoice.objects.get(cb_id="19").status == "posted"),
        (
            "invoice_updated",
            lambda: Invoice.objects.get(cb_id="19").dunning_status == "in_progress",
        ),
        (
            "card_expiry_reminder",
            lambda: Customer.objects.get(cb_id="3Nl7oGgQqGFprj9").card_status == "expiring",
        ),
        (
            "subscription_cancelled",
            lambda: Subscription.objects.get(cb_id="AzqgumSAxXl3xAxW").cancel_reason == "no_card",
        ),
        (
            "subscription_cancellation_scheduled",
            lambda: Subscription.objects.get(cb_id="3Nl7oGgQqGFprj9").status == "non_renewing",
        ),
        (
            "payment_refunded",
            lambda: Transaction.objects.get(cb_id="txn_3Nl7oGgQqGG07E3V").type == "refund",
        ),
        (
            "payment_source_updated.partial_content",
            lambda: Customer.objects.get(cb_id="3Nl7oGgQqGFprj9").email == "Benjamin@test.com",
        ),
    ],
)
def test_every_sample_payload_reaches_the_mirror(sample, check):
    event = process(sample)

    assert event.state == EventState.PROCESSED, event.last_error
    assert check()


def test_product_catalog_2_subscription_takes_its_plan_from_subscription_items():
    payload = load_sample("subscription_cancelled")
    subscription = payload["content"]["subscription"]
    subscription.pop("plan_id")
    subscription["subscription_items"] = [
        {"item_price_id": "seats-EUR-monthly", "item_type": "addon", "quantity": 3},
        {"item_price_id": "pro-EUR-monthly", "item_type": "plan", "quantity": 1},
    ]

    process(payload)

    mirrored = Subscription.objects.get(cb_id=subscription["id"])
    assert (mirrored.catalog_version, mirrored.plan_id) == (2, "pro-EUR-monthly")


def test_an_older_event_after_a_newer_one_is_stale_and_changes_nothing():
    process("invoice_updated")
    older = process("invoice_generated")

    assert older.state == EventState.STALE
    invoice = Invoice.objects.get(cb_id="19")
    assert (invoice.status, invoice.dunning_status) == ("payment_due", "in_progress")
    assert invoice.resource_version == 1603032419689


def test_out_of_order_customer_update_keeps_the_newer_card_status():
    process("payment_failed")  # customer version 1364845255000, card valid
    stale = process("card_expiry_reminder")  # version 1341085225000, card expiring

    assert stale.state == EventState.STALE
    assert Customer.objects.get(cb_id="3Nl7oGgQqGFprj9").card_status == "valid"


def test_a_job_run_twice_changes_nothing_the_second_time():
    event = process("payment_failed")
    invoice_before = Invoice.objects.values().get(cb_id="6")

    second = event_process(event_pk=event.pk)

    assert second == ProcessResult.NOT_CLAIMED
    event.refresh_from_db()
    assert event.attempts == 1
    assert Invoice.objects.values().get(cb_id="6") == invoice_before


def test_the_same_content_under_a_new_event_id_is_applied_once():
    process("payment_failed")
    again = load_sample("payment_failed")
    again["id"] = "ev_redelivered_under_new_id"

    event = process(again)

    assert event.state == EventState.PROCESSED
    assert set(event.outcome.values()) == {"unchanged"}
    assert Transaction.objects.count() == 1


def test_unknown_event_type_is_stored_and_marked_ignored():
    payload = load_sample("payment_failed")
    payload.update(id="ev_unknown", event_type="quote_created")

    event = process(payload)

    assert event.state == EventState.IGNORED
    assert "not used" in event.outcome["reason"]
    assert not Invoice.objects.exists()


def test_event_from_another_api_version_is_kept_but_not_applied():
    payload = load_sample("payment_failed")
    payload["api_version"] = "v1"

    event = process(payload)

    assert event.state == EventState.IGNORED
    assert not Invoice.objects.exists()


def test_content_that_cannot_be_mirrored_at_all_fails_clearly_without_retrying():
    payload = load_sample("invoice_updated")
    del payload["content"]["invoice"]["customer_id"]

    event = process(payload)

    assert event.state == EventState.FAILED
    assert event.last_error == "content.invoice.customer_id is missing: invoice not mirrored"
    assert event.next_attempt_at is None
    assert not Invoice.objects.exists()


def test_deleted_event_marks_the_resource_deleted():
    payload = load_sample("invoice_updated")
    payload.update(id="ev_deleted", event_type="invoice_deleted")
    payload["content"]["invoice"]["resource_version"] += 1

    process("invoice_updated")
    process(payload)

    assert Invoice.objects.get(cb_id="19").deleted


def test_payment_source_keeps_brand_last4_and_expiry_only():
    payload = {
        "id": "ev_ps",
        "occurred_at": 1700000000,
        "api_version": "v2",
        "event_type": "payment_source_added",
        "content": {
            "customer": {"id": "cus_1", "first_name": "Ana", "resource_version": 1700000000000},
            "payment_source": {
                "id": "pm_1",
                "customer_id": "cus_1",
                "type": "card",
                "status": "valid",
                "gateway": "stripe",
                "resource_version": 1700000000000,
                "card": {
                    "brand": "visa",
                    "last4": "1111",
                    "expiry_month": 4,
                    "expiry_year": 2027,
                    "number": "4111111111111111",
                    "cvv": "123",
                    "funding_type": "credit",
                },
            },
        },
    }

    process(payload)

    source = PaymentSource.objects.get(cb_id="pm_1")
    assert (source.card_brand, source.card_last4, source.card_expiry_month) == ("visa", "1111", 4)
    assert "4111111111111111" not in str(source.raw)
    assert "cvv" not in source.raw["card"]


def test_relay_recovers_a_claim_abandoned_by_a_killed_worker(run_jobs):
    event = ingest("payment_failed")
    # A worker claimed the row and died before committing its work.
    ChargebeeEvent.objects.filter(pk=event.pk).update(
        state=EventState.PROCESSING, claimed_at=timezone.now() - CLAIM_TIMEOUT * 2, attempts=1
    )

    assert events_relay() == 1
    run_jobs()

    event.refresh_from_db()
    assert (event.state, event.attempts) == (EventState.PROCESSED, 2)
    assert Invoice.objects.filter(cb_id="6").exists()


def test_relay_leaves_recent_and_finished_events_alone():
    ingest("payment_failed")  # just arrived: its own job is on the way
    done = process("invoice_updated")

    assert events_relay() == 0
    assert done.state == EventState.PROCESSED


def test_failed_event_is_retried_by_the_relay_after_its_backoff(run_jobs):
    event = ingest("payment_failed")
    ChargebeeEvent.objects.filter(pk=event.pk).update(
        state=EventState.FAILED, attempts=1, next_attempt_at=timezone.now(), last_error="boom"
    )

    assert events_relay() == 1
    run_jobs()

    event.refresh_from_db()
    assert (event.state, event.last_error) == (EventState.PROCESSED, "")


def test_processing_through_the_queue_after_commit(
    post_webhook, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(load_sample("payment_failed"))
        post_webhook(copy.deepcopy(load_sample("invoice_updated")))

    assert run_jobs() == 1  # the second webhook found a drain already pending
    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}


def test_an_event_stored_while_a_drain_runs_gets_a_drain_of_its_own(
    run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ingest("payment_failed")
    events_nudge_clear()  # the pending drain starts: it clears the nudge, then claims
    with django_capture_on_commit_callbacks(execute=True):
        ingest("invoice_updated")

    assert get_queue("ingest").count == 2
    run_jobs()
    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}
    assert set(ChargebeeEvent.objects.values_list("attempts", flat=True)) == {1}


def test_a_drain_with_more_waiting_than_one_batch_processes_them_all(
    run_jobs, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("dunning.sync.jobs.DRAIN_BATCH", 2)
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("payment_failed", "invoice_updated", "invoice_generated", "payment_succeeded"):
            ingest(name)

    run_jobs()

    # Every event was taken (one batch's invoice_generated is older than the other's
    # invoice_updated, so it is stale), and each was processed once.
    states = set(ChargebeeEvent.objects.values_list("state", flat=True))
    assert states <= {EventState.PROCESSED, EventState.STALE}
    assert set(ChargebeeEvent.objects.values_list("attempts", flat=True)) == {1}


def test_a_job_drains_other_waiting_events_and_their_jobs_do_nothing(
    run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("payment_failed", "invoice_updated", "invoice_generated", "payment_succeeded"):
            ingest(name)

    run_jobs()

    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}
    assert set(ChargebeeEvent.objects.values_list("attempts", flat=True)) == {1}
    # invoice_generated is older than invoice_updated: the mirror keeps the newer one.
    assert Invoice.objects.get(cb_id="19").status == "payment_due"
    assert Invoice.objects.get(cb_id="22").status == "paid"
