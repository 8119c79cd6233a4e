"""The sandbox speaks Chargebee's API to the official SDK, and sends webhooks to Dunwell."""

from __future__ import annotations

import pytest
from chargebee import PaymentError

from dunning.models import ChargebeeEvent, EventState, Invoice
from dunning.sync.chargebee_client import chargebee_client
from sandbox.webhooks import WebhookDelivery
from tests.conftest import failed_renewal


@pytest.fixture
def failed_invoice(sandbox):
    return failed_renewal(sandbox, behaviour=["insufficient_funds", "succeed"])


def test_sdk_reads_an_invoice_in_dunning(failed_invoice):
    invoice = chargebee_client().Invoice.retrieve(failed_invoice["id"]).invoice

    assert (invoice.status, invoice.dunning_status, invoice.amount_due) == (
        "payment_due",
        "in_progress",
        4900,
    )
    assert invoice.dunning_attempts[0].txn_status == "failure"


def test_collect_payment_with_the_same_idempotency_key_charges_once(sandbox, failed_invoice):
    client = chargebee_client()
    headers = {"chargebee-idempotency-key": "dunwell-retry-1"}

    first = client.Invoice.collect_payment(failed_invoice["id"], headers=headers)
    again = client.Invoice.collect_payment(failed_invoice["id"], headers=headers)

    assert first.invoice.status == "paid"
    assert again.is_idempotency_replayed
    assert again.transaction.id == first.transaction.id
    payments = [t for t in sandbox.transactions.values() if t["status"] == "success"]
    assert len(payments) == 1


def test_declined_collect_payment_raises_a_payment_error_and_records_the_attempt(sandbox):
    invoice = failed_renewal(sandbox, behaviour=["expired_card", "expired_card"], name="Bo")

    with pytest.raises(PaymentError) as raised:
        chargebee_client().Invoice.collect_payment(invoice["id"])

    assert raised.value.api_error_code == "payment_processing_failed"
    assert len(sandbox.invoices[invoice["id"]]["dunning_attempts"]) == 2


def test_record_payment_pause_and_stop_dunning_and_comments(sandbox, failed_invoice):
    client = chargebee_client()
    invoice_id = failed_invoice["id"]

    paused = client.Invoice.pause_dunning(
        invoice_id, client.Invoice.PauseDunningParams(expected_payment_date=sandbox.now() + 86400)
    ).invoice
    client.Comment.create(
        client.Comment.CreateParams(
            entity_type="invoice", entity_id=invoice_id, notes="Dunwell: paused"
        )
    )
    paid = client.Invoice.record_payment(
        invoice_id,
        client.Invoice.RecordPaymentParams(
            transaction=client.Invoice.RecordPaymentTransactionParams(
                payment_method="bank_transfer", amount=4900
            )
        ),
    ).invoice

    assert (paused.dunning_status, bool(paused.expected_payment_date)) == ("in_progress", True)
    assert paid.status == "paid"
    assert sandbox.comments[0]["notes"] == "Dunwell: paused"


def test_hosted_page_for_a_payment_method_update(sandbox, failed_invoice):
    client = chargebee_client()
    page = client.HostedPage.update_payment_method(
        client.HostedPage.UpdatePaymentMethodParams(
            customer=client.HostedPage.UpdatePaymentMethodCustomerParams(
                id=failed_invoice["customer_id"]
            )
        )
    ).hosted_page

    assert page.type == "manage_payment_sources"
    assert page.url.startswith("http://127.0.0.1:")


def test_wrong_api_key_is_refused(sandbox, settings):
    settings.CHARGEBEE_API_KEY = "not-the-key"
    from chargebee import APIError

    with pytest.raises(APIError) as raised:
        chargebee_client().Invoice.list()
    assert raised.value.http_status_code == 401


@pytest.mark.django_db(transaction=True)
def test_sandbox_webhooks_reach_dunwell_through_the_real_endpoint(
    sandbox, live_server, run_jobs, settings
):
    delivery = WebhookDelivery(
        url=f"{live_server.url}/webhooks/chargebee/",
        username=settings.CHARGEBEE_WEBHOOK_USERNAME,
        password=settings.CHARGEBEE_WEBHOOK_PASSWORD,
    )
    sandbox.event_listeners.append(lambda event: delivery.deliver(event, retries=False))
    invoice = failed_renewal(sandbox)
    run_jobs()

    assert [status for _id, status in delivery.delivered] == [200] * len(sandbox.events)
    assert set(ChargebeeEvent.objects.values_list("state", flat=True)) == {EventState.PROCESSED}
    mirrored = Invoice.objects.get(cb_id=invoice["id"])
    assert (mirrored.status, mirrored.dunning_status, mirrored.amount_due) == (
        "payment_due",
        "in_progress",
        4900,
    )


def test_helpdesk_and_usage_signals_are_served_over_http(sandbox_server, sandbox):
    import httpx

    from sandbox.simulator.run import simulate_history

    simulate_history(sandbox, customers=60, months=3, seed=4, end=1_790_000_000)
    customer_id = sandbox.tickets[0]["customer_id"]
    auth = (sandbox.api_key, "")

    tickets = httpx.get(
        f"{sandbox_server.url}/signals/v1/tickets",
        params={"customer_id[is]": customer_id, "limit": 100},
        auth=auth,
    ).json()
    usage = httpx.get(
        f"{sandbox_server.url}/signals/v1/usage", params={"customer_id[is]": customer_id}, auth=auth
    ).json()
    missing = httpx.get(f"{sandbox_server.url}/signals/v1/usage", auth=auth)

    assert tickets["list"] and all(
        t["ticket"]["customer_id"] == customer_id for t in tickets["list"]
    )
    assert {"subject", "body", "sentiment"} <= set(tickets["list"][0]["ticket"])
    assert usage["list"] and "sessions" in usage["list"][0]["usage"]
    assert missing.status_code == 400
