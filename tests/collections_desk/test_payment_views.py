"""Agents record an offline payment from the case page: once, within their team, and the
case resolves at once when the invoice is paid in full (a part payment keeps it going)."""

from __future__ import annotations

import pytest

from collections_desk.models import Case, CaseState
from dunning.models import Action, ActionKind, ActionState, Invoice
from sandbox.offline import offline_payment_received
from tests.dunning.actions.offline.conftest import (  # noqa: F401
    deliver,
    mode,
    offline_invoice,
    wall_clock,
    work,
)
from tests.dunning.decisions.delivery import events_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(offline_invoice, mode, teams):  # noqa: F811
    """Olga's 299.00 USD invoice is due; in approve mode her reminders wait for a person,
    so her case is on the general team's queue."""
    mode("approve")
    invoice = offline_invoice()
    return Case.objects.get(customer_id=invoice["customer_id"]), invoice


def record_calls(sandbox, invoice_id: str) -> int:
    return sandbox.request_log.count(("POST", f"/api/v2/invoices/{invoice_id}/record_payment"))


def pending_reminders(invoice_id: str):
    return Action.objects.filter(
        invoice_id=invoice_id,
        params__has_key="offline_step",
        state__in=(ActionState.PROPOSED, ActionState.SCHEDULED),
    )


def form(invoice: dict, amount: str, request_id: str = "form-1") -> dict:
    return {
        "invoice": invoice["id"],
        "amount": amount,
        "paid_on": "2026-11-20",
        "method": "bank_transfer",
        "reference": "SEPA-1",
        "request_id": request_id,
    }


def test_agent_records_a_payment_once_even_when_the_form_is_submitted_twice(
    client,
    olga,
    agent,
    sandbox,
    work,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    case, invoice = olga
    client.force_login(agent)
    url = f"/collections/cases/{case.pk}/record-payment/"

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, form(invoice, "299.00"))
        second = client.post(url, form(invoice, "299.00"))
    work()

    assert first.status_code == second.status_code == 302
    recorded = Action.objects.get(kind=ActionKind.RECORD_PAYMENT)
    assert recorded.state == ActionState.EXECUTED and recorded.decided_by == agent
    assert record_calls(sandbox, invoice["id"]) == 1
    assert sandbox.invoices[invoice["id"]]["status"] == "paid"
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED  # at once, not at the next 5-minute refresh
    assert not pending_reminders(invoice["id"]).exists()
    page = client.get(f"/collections/cases/{case.pk}/").content.decode()
    assert "Resolved" in page and 'id="record-payment"' not in page


def test_a_part_payment_leaves_the_invoice_due_and_the_reminders_going(
    client,
    olga,
    agent,
    sandbox,
    work,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    case, invoice = olga
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/collections/cases/{case.pk}/record-payment/", form(invoice, "100.00"))
    work()

    mirrored = Invoice.objects.get(cb_id=invoice["id"])
    assert (mirrored.status, mirrored.amount_due) == ("payment_due", 19_900)
    case.refresh_from_db()
    assert case.is_open and case.amount_due == 19_900
    assert pending_reminders(invoice["id"]).count() == 4


def test_a_payment_the_finance_team_records_in_chargebee_resolves_the_case_at_once(
    olga,
    sandbox,
    deliver,  # noqa: F811
):
    case, invoice = olga

    offline_payment_received(sandbox, invoice_id=invoice["id"])
    deliver(events_of(sandbox, "payment_succeeded")[-1])

    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED
    assert not pending_reminders(invoice["id"]).exists()
    cancelled = Action.objects.filter(invoice_id=invoice["id"], state=ActionState.CANCELLED)
    assert cancelled.count() == 4


def test_agent_of_another_team_cannot_record_a_payment(client, olga, other_agent, sandbox):
    case, invoice = olga
    client.force_login(other_agent)

    on_case = client.post(f"/collections/cases/{case.pk}/record-payment/", form(invoice, "299.00"))
    on_invoice = client.post(
        f"/dunning/invoices/{invoice['id']}/collect/record_payment/",
        {"amount": "299.00", "paid_on": "2026-11-20", "method": "check"},
    )

    assert on_case.status_code == on_invoice.status_code == 404
    assert not Action.objects.filter(kind=ActionKind.RECORD_PAYMENT).exists()
    assert record_calls(sandbox, invoice["id"]) == 0


def test_a_bad_amount_is_refused_with_the_reason(client, olga, agent):
    case, invoice = olga
    client.force_login(agent)

    response = client.post(f"/collections/cases/{case.pk}/record-payment/", form(invoice, "900"))

    assert response.status_code == 400
    assert "more than the 299.00 USD due" in response.content.decode()


def test_the_queue_shows_offline_payers_with_a_badge_and_filters_them(client, olga, agent):
    case, _ = olga
    client.force_login(agent)

    offline = client.get("/collections/?collection=offline").content.decode()
    automatic = client.get("/collections/?collection=automatic").content.decode()

    assert f"/collections/cases/{case.pk}/" in offline and 'class="badge offline"' in offline
    assert f"/collections/cases/{case.pk}/" not in automatic
