"""Chargebee's payment schedules through the official SDK against the sandbox."""

from __future__ import annotations

import pytest
from chargebee import InvalidRequestError

from dunning.sync.chargebee_client import chargebee_client
from tests.conftest import failed_renewal


@pytest.fixture
def due_invoice(sandbox):
    return failed_renewal(sandbox, price=10_000)


def monthly_scheme(client, n: int = 3):
    return client.PaymentScheduleScheme.create(
        {"name": "3 monthly", "number_of_schedules": n, "period_unit": "month", "period": 1}
    ).payment_schedule_scheme


def test_a_scheme_applied_to_an_invoice_splits_what_is_due_into_dated_entries(due_invoice):
    client = chargebee_client()
    scheme = monthly_scheme(client)

    applied = client.Invoice.apply_payment_schedule_scheme(
        due_invoice["id"], {"scheme_id": scheme.id}
    )
    [schedule] = client.Invoice.payment_schedules(due_invoice["id"]).payment_schedules

    assert applied.invoice.id == due_invoice["id"]
    assert (schedule.scheme_id, schedule.entity_type, schedule.amount) == (
        scheme.id,
        "invoice",
        10_000,
    )
    entries = schedule.schedule_entries
    assert [e.amount for e in entries] == [3333, 3333, 3334]
    assert entries[0].status == "payment_due" and entries[1].status == "posted"
    assert 27 * 86400 <= entries[1].date - entries[0].date <= 31 * 86400


def test_a_payment_on_the_invoice_pays_the_first_entry(sandbox, due_invoice):
    client = chargebee_client()
    scheme = monthly_scheme(client)
    client.Invoice.apply_payment_schedule_scheme(due_invoice["id"], {"scheme_id": scheme.id})

    sandbox.record_payment(invoice_id=due_invoice["id"], amount=3333, payment_method="cash")

    [listed] = client.PaymentSchedule.list({"invoice_id[is]": due_invoice["id"]}).list
    statuses = [e.status for e in listed.payment_schedule.schedule_entries]
    assert statuses == ["paid", "posted", "posted"]


def test_chargebee_refuses_a_schedule_on_an_invoice_not_in_payment_due(sandbox, due_invoice):
    client = chargebee_client()
    scheme = monthly_scheme(client)
    sandbox.record_payment(invoice_id=due_invoice["id"], amount=10_000, payment_method="cash")

    with pytest.raises(InvalidRequestError) as refused:
        client.Invoice.apply_payment_schedule_scheme(due_invoice["id"], {"scheme_id": scheme.id})

    assert refused.value.http_status_code == 409
    assert "payment_due" in str(refused.value)


def test_a_scheme_beyond_chargebees_limits_is_a_400_naming_the_parameter(sandbox):
    with pytest.raises(InvalidRequestError) as refused:
        chargebee_client().PaymentScheduleScheme.create(
            {"name": "too many", "number_of_schedules": 13, "period_unit": "month"}
        )

    assert refused.value.param == "number_of_schedules"
