"""Every answer the sandbox gives, and every event it sends, is one Chargebee could give.

Checked against the installed SDK's own models and Enum classes, and the fields Chargebee
always sends (see ``tests/sandbox/chargebee_models.py``).
"""

from __future__ import annotations

import pytest
from chargebee import APIError, PaymentError

from dunning.actions.execution import chargebee_writes as writes
from dunning.sync.chargebee_client import chargebee_client
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox
from tests.conftest import failed_renewal
from tests.sandbox.chargebee_models import REQUEST_LIMITS, request_problems, response_problems

LIST_KEYS = {"configurations": "configuration"}


def body_problems(body: dict) -> list[str]:
    problems = []
    for key, value in body.items():
        if key in ("next_offset",):
            continue
        if key == "list":
            for entry in value:
                for resource, obj in entry.items():
                    problems += object_problems(resource, obj)
        elif key in LIST_KEYS:
            for obj in value:
                problems += response_problems(LIST_KEYS[key], obj)
        else:
            problems += object_problems(key, value)
    return problems


def object_problems(resource: str, obj: dict) -> list[str]:
    problems = response_problems(resource, obj)
    if resource == "event":
        for key, content in obj.get("content", {}).items():
            problems += response_problems(key, content, path=f"event.content.{key}")
    return problems


def every_call_of_a_dunning_month(sandbox) -> None:
    """A failed renewal through each operation Dunwell and the onboarding make."""
    client = chargebee_client()
    invoice = failed_renewal(sandbox, behaviour=["insufficient_funds", "insufficient_funds"])
    invoice_id, customer_id = invoice["id"], invoice["customer_id"]
    client.Invoice.retrieve(invoice_id)
    client.Customer.retrieve(customer_id)
    client.Subscription.retrieve(invoice["subscription_id"])
    client.Invoice.list({"limit": 5, "status": {"in": ["payment_due", "not_paid"]}})
    client.Transaction.list({"customer_id": {"is": customer_id}})
    client.PaymentSource.list({"customer_id": {"is": customer_id}})
    client.Event.list({"limit": 100, "sort_by": {"asc": "occurred_at"}})
    client.Invoice.pause_dunning(
        invoice_id, {"expected_payment_date": sandbox.now() + 86400, "comment": "held"}
    )
    client.Invoice.retrieve(invoice_id)
    client.Invoice.resume_dunning(invoice_id, {"comment": "resumed"})
    with pytest.raises(PaymentError):
        client.Invoice.collect_payment(invoice_id)
    client.Comment.create({"entity_type": "invoice", "entity_id": invoice_id, "notes": "why"})
    client.HostedPage.collect_now({"customer": {"id": customer_id}})
    client.HostedPage.update_payment_method({"customer": {"id": customer_id}})
    client.Invoice.stop_dunning(invoice_id, {"comment": "stopped"})
    client.Invoice.record_payment(
        invoice_id, {"transaction": {"amount": 100, "payment_method": "check"}}
    )
    client.Invoice.collect_payment(invoice_id, {"amount": 100})
    client.Invoice.write_off(invoice_id, {"comment": "written off"})
    second = failed_renewal(sandbox, name="Bo")
    client.Invoice.void_invoice(second["id"], {"comment": "voided"})
    client.Subscription.cancel_for_items(second["subscription_id"], {"end_of_term": False})
    client.Configuration.list()
    client.Currency.list()
    client.Subscription.list({"limit": 100, "status": {"is": "cancelled"}})
    created = client.WebhookEndpoint.create(
        {
            "name": "Dunwell",
            "url": "https://dunwell.example/webhooks/chargebee",
            "api_version": "v2",
            "basic_auth_username": "cb",
            "basic_auth_password": "s3cret",
            "enabled_events": ["payment_failed", "invoice_updated"],
        }
    ).webhook_endpoint
    client.WebhookEndpoint.update(created.id, {"enabled_events": ["payment_failed"]})
    client.WebhookEndpoint.list()
    client.WebhookEndpoint.retrieve(created.id)


def test_every_answer_and_every_event_matches_the_sdk_models(sandbox, chargebee_traffic):
    every_call_of_a_dunning_month(sandbox)

    answered = [e for e in chargebee_traffic if e.status == 200]
    problems = [p for exchange in answered for p in body_problems(exchange.body)]
    problems += [p for event in sandbox.events for p in object_problems("event", event)]

    assert len(answered) >= 25
    assert problems == []


def test_every_request_of_the_scenario_is_one_the_sdk_defines(sandbox, chargebee_traffic):
    every_call_of_a_dunning_month(sandbox)

    problems = [
        problem
        for exchange in chargebee_traffic
        if exchange.method == "POST" or exchange.params
        for problem in request_problems(exchange.method, exchange.path, exchange.params)
    ]

    assert problems == []


def test_a_paused_dunning_stays_in_progress_with_its_expected_payment_date(sandbox):
    invoice = failed_renewal(sandbox)
    until = sandbox.now() + 3 * 86400

    paused = (
        chargebee_client()
        .Invoice.pause_dunning(invoice["id"], {"expected_payment_date": until})
        .invoice
    )

    assert (paused.dunning_status, paused.expected_payment_date) == ("in_progress", until)
    with pytest.raises(APIError) as again:
        chargebee_client().Invoice.pause_dunning(invoice["id"], {"expected_payment_date": until})
    assert (again.value.http_status_code, again.value.api_error_code) == (
        409,
        "invalid_state_for_request",
    )


def test_a_paid_invoice_leaves_next_retry_at_out_rather_than_null(sandbox):
    invoice = failed_renewal(sandbox, behaviour=["insufficient_funds", "succeed"])
    assert "next_retry_at" in sandbox.invoices[invoice["id"]]

    paid = chargebee_client().Invoice.collect_payment(invoice["id"]).invoice

    assert paid.status == "paid"
    assert "next_retry_at" not in paid.raw_data


def test_the_sandbox_refuses_what_chargebee_refuses(sandbox):
    invoice = failed_renewal(sandbox)
    client = chargebee_client()

    with pytest.raises(APIError) as long_note:
        client.Comment.create(
            {"entity_type": "invoice", "entity_id": invoice["id"], "notes": "x" * 1001}
        )
    with pytest.raises(APIError) as long_comment:
        client.Invoice.stop_dunning(invoice["id"], {"comment": "y" * 301})

    assert (long_note.value.api_error_code, long_note.value.param) == ("param_wrong_value", "notes")
    assert long_comment.value.param == "comment"
    assert sandbox.comments == []
    assert sandbox.invoices[invoice["id"]]["dunning_status"] == "in_progress"


def test_the_checks_catch_an_invented_state_a_null_and_a_missing_field():
    invented = {
        "id": "inv_1",
        "customer_id": "c",
        "recurring": True,
        "status": "payment_due",
        "price_type": "tax_exclusive",
        "currency_code": "USD",
        "tax": 0,
        "sub_total": 1,
        "is_gifted": False,
        "deleted": False,
        "dunning_status": "paused",
        "next_retry_at": None,
        "made_up": 1,
    }

    problems = response_problems("invoice", invented)
    too_long = request_problems(
        "POST",
        "/api/v2/comments",
        {"entity_type": ["invoice"], "entity_id": ["inv_1"], "notes": ["n" * 1001]},
    )

    assert sorted(problems) == [
        "invoice.dunning_status='paused' is not in Invoice.DunningStatus",
        "invoice.made_up is not a field of InvoiceResponse",
        "invoice.next_retry_at is null (Chargebee leaves the key out)",
        "invoice.term_finalized is always sent but missing",
    ]
    assert too_long == ["comment.create: notes is 1001 characters, over Chargebee's 1000"]


def test_dunwells_own_limits_are_the_ones_chargebee_publishes():
    assert REQUEST_LIMITS["comment.create"]["notes"]["max_length"] == writes.NOTES_LIMIT
    assert (
        (REQUEST_LIMITS["subscription.cancel_for_items"]["cancel_reason_code"]["max_length"])
        == writes.REASON_CODE_LIMIT
    )
    operations = ("pause_dunning", "stop_dunning", "write_off", "void_invoice", "record_payment")
    assert {REQUEST_LIMITS[f"invoice.{op}"]["comment"]["max_length"] for op in operations} == {
        writes.COMMENT_LIMIT
    }


def test_a_product_catalog_1_subscription_answers_in_its_own_shape(sandbox, chargebee_traffic):
    customer = sandbox.create_customer(first_name="Old", last_name="Site", email="o@x.test")
    subscription = sandbox.create_subscription(
        customer_id=customer["id"], plan_id="basic", unit_price=1000, catalog_version=1
    )

    answered = chargebee_client().Subscription.retrieve(subscription["id"]).subscription

    assert (answered.plan_id, answered.plan_quantity, answered.subscription_items) == (
        "basic",
        1,
        None,
    )
    assert [p for e in chargebee_traffic for p in body_problems(e.body)] == []


@pytest.mark.parametrize("dunning", ["custom", "smart"])
def test_a_simulated_business_only_sends_events_chargebee_could_send(dunning):
    sandbox = Sandbox()
    simulate_history(sandbox, customers=80, months=3, seed=5, end=1_790_000_000, dunning=dunning)

    problems = {p for event in sandbox.events for p in object_problems("event", event)}

    assert len(sandbox.events) > 500
    assert sorted(problems) == []
