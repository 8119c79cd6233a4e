"""Enrichment reads from Chargebee, through the SDK, what the mirror does not have yet."""

from __future__ import annotations

import pytest

from dunning.models import Customer, Decision, PaymentSource, Transaction
from tests.conftest import failed_renewal
from tests.dunning.decisions.delivery import deliver, events_of, wall_clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wall_clock")]
__all__ = ["deliver", "wall_clock"]  # fixtures


def payment_failed_event(sandbox, *, without: tuple[str, ...]) -> dict:
    event = events_of(sandbox, "payment_failed")[-1]
    for key in without:
        event["content"].pop(key, None)
    return event


def test_a_failed_payment_from_a_customer_the_mirror_knows_only_as_a_stub_is_decided_with_the_full_customer(
    sandbox, deliver
):
    invoice = failed_renewal(sandbox, name="Stubby")
    customer_id = invoice["customer_id"]
    sandbox.customers[customer_id]["billing_address"] = {"country": "DE"}

    deliver(payment_failed_event(sandbox, without=("customer",)))

    customer = Customer.objects.get(cb_id=customer_id)
    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert not customer.is_stub
    assert (customer.first_name, customer.country) == ("Stubby", "DE")
    assert decision.features["time_zone"] == "Europe/Berlin"
    assert ("GET", f"/api/v2/customers/{customer_id}") in sandbox.request_log


def test_a_failed_payment_whose_transaction_and_card_were_never_sent_is_read_from_chargebee(
    sandbox, deliver
):
    invoice = failed_renewal(sandbox, behaviour=["expired_card"], name="Nocard")
    event = payment_failed_event(sandbox, without=("transaction",))

    deliver(event)

    decision = Decision.objects.get(invoice_id=invoice["id"])
    failed = Transaction.objects.get(invoice_id=invoice["id"], status="failure")
    assert failed.error_code  # the decline as Chargebee recorded it
    assert PaymentSource.objects.get(cb_id=failed.payment_source_cb_id).card_brand
    assert decision.features["invoice_failures"] == 1
    assert decision.features["decline"]["decline_code"]


def test_chargebee_rate_limiting_enrichment_delays_the_decision_but_loses_nothing(sandbox, deliver):
    invoice = failed_renewal(sandbox, name="Patient")
    event = payment_failed_event(sandbox, without=("customer",))
    sandbox.inject_failures(status=429, count=2, retry_after=0)

    deliver(event)

    assert not sandbox.injected_failures  # both 429s were answered, then retried
    assert Customer.objects.get(cb_id=invoice["customer_id"]).first_name == "Patient"
    assert Decision.objects.filter(invoice_id=invoice["id"]).count() == 1


def test_a_us_customer_is_decided_in_the_time_zone_of_their_billing_state(sandbox, deliver):
    invoice = failed_renewal(sandbox, name="Westcoast")
    customer_id = invoice["customer_id"]
    sandbox.customers[customer_id]["billing_address"] = {
        "country": "US",
        "state_code": "CA",
        "state": "California",
        "zip": "94105",
    }

    deliver(payment_failed_event(sandbox, without=("customer",)))

    customer = Customer.objects.get(cb_id=customer_id)
    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert (customer.billing_state_code, customer.billing_state, customer.billing_zip) == (
        "CA",
        "California",
        "94105",
    )
    assert decision.features["time_zone"] == "America/Los_Angeles"
    assert decision.features["time_zone_known_by"] == "state"


def test_a_customer_whose_country_places_no_clock_is_decided_with_the_zone_marked_unknown(
    sandbox, deliver
):
    invoice = failed_renewal(sandbox, name="Nowhere")
    sandbox.customers[invoice["customer_id"]]["billing_address"] = {}

    deliver(payment_failed_event(sandbox, without=("customer",)))

    decision = Decision.objects.get(invoice_id=invoice["id"])
    assert decision.features["time_zone_known_by"] == "unknown"
    assert decision.features["time_zone"] == "UTC"  # the named fallback, not the customer's zone
