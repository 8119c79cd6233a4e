"""People collecting by hand on the invoice page: collect now, request payment, record a
payment, end of dunning. Over the real page, the sandbox and a real RQ worker.

Where a message is sent, ONLY ``dunning.actions.channels.delivery.message_deliver`` is replaced by
a recording fake: the channels are built separately (issue 6) and the lead merges the real
one; everything up to that call (the hosted-page link from Chargebee) is real.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from dunning.actions.channels import delivery
from dunning.actions.channels.delivery import DeliveryResult
from dunning.actions.state_machine import action_approve, action_fingerprint
from dunning.models import Action, ActionKind, ActionState
from tests.dunning.actions.execution.conftest import charges_on
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def collect_url(invoice, what: str) -> str:
    return f"/dunning/invoices/{invoice.cb_id}/collect/{what}/"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST a form of the page; what it schedules is enqueued on commit, as in production."""

    def post(url: str, data: dict | None = None, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {}, **headers)

    return post


@pytest.fixture
def sent(monkeypatch):
    """The channels' delivery, replaced by a fake that records what it was asked to send."""
    calls: list[dict] = []

    def deliver(*, action, links):
        calls.append({"action": action.pk, "kind": action.kind, "links": links})
        return DeliveryResult(status="sent", message_id=len(calls))

    monkeypatch.setattr(delivery, "message_deliver", deliver)
    return calls


def test_agent_collects_part_now_and_the_invoice_stays_payment_due(
    client, post, sandbox, renewal, agent, work
):
    client.force_login(agent)

    response = post(collect_url(renewal, "collect_now"), {"amount": "20.00"})
    assert response.status_code == 302
    work()

    action = Action.objects.get(invoice=renewal, kind=ActionKind.RETRY)
    assert action.state == ActionState.EXECUTED and action.decided_by == agent
    assert action.result["amount"] == 2000 and action.result["invoice_status"] == "payment_due"
    assert sandbox.invoices[renewal.cb_id]["amount_due"] == 2900
    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_due) == ("payment_due", 2900)
    page = client.get(f"/dunning/invoices/{renewal.cb_id}/decisions/").content.decode()
    assert "asked to collect 20.00 USD now (part of what is due)" in page
    assert "invoice payment_due" in page


def test_collecting_more_than_is_due_is_refused_with_the_reason(client, post, renewal, agent):
    client.force_login(agent)

    response = post(
        collect_url(renewal, "collect_now"), {"amount": "60.00"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    assert "the amount is more than the 49.00 USD due" in response.content.decode()
    assert not Action.objects.exists()


def test_agent_collecting_a_large_amount_waits_for_a_manager(sandbox, live, agent, manager, work):
    from collections_desk.manual_collection import manual_collect_now
    from tests.conftest import failed_renewal
    from tests.dunning.actions.execution.conftest import mirror_from_sandbox

    big = mirror_from_sandbox(sandbox, failed_renewal(sandbox, price=250_000)["id"])

    outcome = manual_collect_now(invoice=big, user=agent, amount=250_000)
    work()

    action = outcome.action
    action.refresh_from_db()
    assert action.state == ActionState.PROPOSED and action.risk == "high"
    assert "review amount" in action.approval_reason
    assert charges_on(sandbox, big.cb_id) == []
    with pytest.raises(PermissionDenied):
        action_approve(action=action, user=agent, fingerprint=action_fingerprint(action))


def test_request_payment_emails_a_link_to_pay_the_outstanding_invoices(
    client, post, sandbox, renewal, agent, work, sent
):
    client.force_login(agent)

    post(collect_url(renewal, "request_payment"))
    post(collect_url(renewal, "request_payment_method"))
    work()

    assert [call["kind"] for call in sent] == ["message", "payment_method_link"]
    pages = [
        sandbox.hosted_pages[url.rstrip("/").rsplit("/", 1)[1]]
        for url in (call["links"]["pay_link"] for call in sent)
    ]
    assert [page["kind"] for page in pages] == ["collect_now", "update_payment_method"]
    assert all(page["customer_id"] == renewal.customer_id for page in pages)
    assert set(Action.objects.values_list("state", flat=True)) == {ActionState.EXECUTED}


def test_a_deferred_delivery_keeps_the_request_for_later(
    renewal, agent, work, monkeypatch, django_capture_on_commit_callbacks
):
    from collections_desk.manual_collection import manual_request_payment

    monkeypatch.setattr(
        delivery,
        "message_deliver",
        lambda **kw: DeliveryResult(status="deferred", reason="quiet hours"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        action = manual_request_payment(invoice=renewal, user=agent).action
    work()

    action.refresh_from_db()
    assert action.state == ActionState.SCHEDULED and "quiet hours" in action.last_error


def test_recording_an_offline_payment_marks_the_invoice_paid(
    client, post, sandbox, renewal, agent, work
):
    client.force_login(agent)

    post(
        collect_url(renewal, "record_payment"),
        {
            "amount": "49.00",
            "paid_on": "2026-11-20",
            "method": "bank_transfer",
            "reference": "SEPA-7781",
        },
    )
    work()

    action = Action.objects.get(kind=ActionKind.RECORD_PAYMENT)
    assert action.state == ActionState.EXECUTED and action.result["invoice_status"] == "paid"
    recorded = sandbox.transactions[action.result["transaction_id"]]
    assert (recorded["payment_method"], recorded["reference_number"]) == (
        "bank_transfer",
        "SEPA-7781",
    )


def test_write_off_needs_a_manager(client, post, sandbox, renewal, agent, manager, approve, work):
    client.force_login(agent)
    post(
        collect_url(renewal, "end_of_dunning"),
        {"subscription": "keep", "invoice_action": "write_off"},
    )
    work()

    write_off = Action.objects.get(kind=ActionKind.WRITE_OFF)
    assert write_off.state == ActionState.PROPOSED  # the agent's proposal is not an approval
    with pytest.raises(PermissionDenied, match="need a manager"):
        action_approve(action=write_off, user=agent, fingerprint=action_fingerprint(write_off))
    assert sandbox.invoices[renewal.cb_id]["status"] == "payment_due"

    approve(write_off, manager)
    work()

    write_off.refresh_from_db()
    assert write_off.state == ActionState.EXECUTED
    assert sandbox.invoices[renewal.cb_id]["write_off_amount"] == 4900
    assert sandbox.subscriptions[renewal.subscription_id]["status"] == "active"  # kept


def test_an_approved_cancellation_that_lost_its_manager_goes_back_for_approval(
    sandbox, renewal, agent, manager, approve, work
):
    from collections_desk.end_of_dunning import end_of_dunning_propose

    cancel, unpaid = end_of_dunning_propose(
        invoice=renewal, user=agent, subscription="cancel", invoice_action="leave_unpaid"
    )
    for outcome in (cancel, unpaid):
        approve(outcome.action, manager)
    manager.groups.clear()
    work()

    states = set(Action.objects.values_list("state", flat=True))
    assert states == {ActionState.PROPOSED}
    assert sandbox.subscriptions[renewal.subscription_id]["status"] == "active"


def test_a_reader_without_collection_rights_cannot_collect(client, renewal):
    reader = UserFactory(username="rita.reader")
    client.force_login(reader)

    response = client.post(collect_url(renewal, "collect_now"), {"amount": "10.00"})

    assert response.status_code == 403
    assert not Action.objects.exists()


def test_an_unknown_request_is_not_found(client, renewal, agent):
    client.force_login(agent)

    assert client.post(collect_url(renewal, "refund_everything")).status_code == 404


def test_dunwell_proposes_the_configured_final_actions_when_its_window_ends(
    sandbox, admin_user, settings
):
    from django.utils import timezone

    from dunning.decisions.policy_settings.guardrails import guardrails_update
    from dunning.pipeline.decide import decision_make
    from tests.conftest import failed_renewal
    from tests.dunning.actions.execution.conftest import mirror_from_sandbox

    settings.DUNWELL_END_OF_DUNNING = {"subscription": "keep", "invoice": "void"}
    guardrails_update(changes={"default_mode": "auto", "max_retries": 0}, user=admin_user)
    invoice = mirror_from_sandbox(sandbox, failed_renewal(sandbox)["id"])

    decision = decision_make(invoice_id=invoice.cb_id, trigger="manual", at=timezone.now())

    kinds = set(decision.actions.values_list("kind", flat=True))
    assert ActionKind.VOID in kinds and ActionKind.CANCEL_SUBSCRIPTION not in kinds
    void = decision.actions.get(kind=ActionKind.VOID)
    assert (void.state, void.needs_approval, void.risk) == (ActionState.PROPOSED, True, "high")
