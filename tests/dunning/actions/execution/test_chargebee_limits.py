"""Dunwell's writes stay within what Chargebee accepts, and a refusal is shown, never lost."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from collections_desk.end_of_dunning import end_of_dunning_propose
from dunning.actions.execution import chargebee_writes as writes
from dunning.models import Action, ActionKind, ActionState
from tests.conftest import failed_renewal
from tests.dunning.actions.execution.conftest import mirror_from_sandbox, propose
from tests.sandbox.chargebee_models import request_problems

LONG_REASONING = "Tuesday after payday: 62% predicted success. " + "Because the card " * 200


def decisions_page(client, user, invoice) -> str:
    client.force_login(user)
    return client.get(reverse("dunning:invoice_decisions", args=[invoice.cb_id])).content.decode()


def test_a_long_reasoning_is_cut_to_chargebees_limit_and_links_to_all_of_it(
    client, sandbox, renewal, manager, approve, work, chargebee_traffic
):
    retry = propose(renewal, ActionKind.RETRY, reasoning=LONG_REASONING)
    approve(retry, manager)

    work()

    retry.refresh_from_db()
    notes = sandbox.comments[-1]["notes"]
    assert retry.state == ActionState.EXECUTED and retry.result["comment_id"]
    assert len(notes) <= 1000 < len(LONG_REASONING)
    link = f"/invoices/{renewal.cb_id}/decisions/#decision-{retry.decision_id}"
    assert notes.endswith(link)
    assert LONG_REASONING.strip() in decisions_page(client, manager, renewal)
    sent = [e for e in chargebee_traffic if e.method == "POST"]
    assert [p for e in sent for p in request_problems(e.method, e.path, e.params)] == []


def test_a_refused_comment_shows_on_the_action_with_chargebees_message(
    client, sandbox, renewal, manager, approve, work
):
    retry = propose(renewal, ActionKind.RETRY)
    approve(retry, manager)
    sandbox.refuse_next(
        path="/api/v2/comments",
        status=400,
        api_error_code="param_wrong_value",
        message="notes : contains characters that are not allowed",
        param="notes",
    )

    work()

    retry.refresh_from_db()
    assert retry.state == ActionState.EXECUTED and retry.result["charged"] is True
    [refusal] = retry.result["chargebee_refused"]
    assert (refusal["write"], refusal["param"]) == ("comment", "notes")
    page = decisions_page(client, manager, renewal)
    assert "Chargebee refused the comment: notes : contains characters that are not allowed" in (
        page
    )


def cancel_at_end_of_dunning(renewal, agent, manager, approve, work):
    cancel, _ = end_of_dunning_propose(
        invoice=renewal, user=agent, subscription="cancel", invoice_action="leave_unpaid"
    )
    approve(cancel.action, manager)
    work()
    cancel.action.refresh_from_db()
    return cancel.action


def test_the_cancel_reason_code_comes_from_settings_and_is_sent_only_when_set(
    sandbox, renewal, agent, manager, approve, work, settings, chargebee_traffic
):
    settings.CHARGEBEE_CANCEL_REASON_CODE = "No Card"

    action = cancel_at_end_of_dunning(renewal, agent, manager, approve, work)

    assert action.state == ActionState.EXECUTED
    subscription = sandbox.subscriptions[renewal.subscription_id]
    assert (subscription["status"], subscription["cancel_reason_code"]) == ("cancelled", "No Card")
    [cancel] = [e for e in chargebee_traffic if e.path.endswith("/cancel_for_items")]
    assert cancel.params["cancel_reason_code"] == ["No Card"]


def test_a_reason_code_the_site_lacks_fails_the_cancellation_with_chargebees_message(
    client, sandbox, renewal, agent, manager, approve, work, settings
):
    settings.CHARGEBEE_CANCEL_REASON_CODE = "Unpaid"  # not among the site's reason codes

    action = cancel_at_end_of_dunning(renewal, agent, manager, approve, work)

    assert action.state == ActionState.FAILED
    assert sandbox.subscriptions[renewal.subscription_id]["status"] == "active"
    assert "Unpaid is not a reason code configured on this site" in decisions_page(
        client, manager, renewal
    )


def test_a_reason_code_longer_than_chargebee_takes_stops_the_start(settings):
    settings.CHARGEBEE_CANCEL_REASON_CODE = "x" * 101

    try:
        call_command("check")
    except SystemCheckError as error:
        message = str(error)
    else:
        message = ""

    assert "CHARGEBEE_CANCEL_REASON_CODE is 101 characters" in message


def test_every_write_dunwell_makes_is_a_request_chargebee_defines(
    sandbox, live, agent, manager, approve, work, settings, chargebee_traffic
):
    settings.CHARGEBEE_CANCEL_REASON_CODE = "Not Paid"
    renewals = [
        mirror_from_sandbox(sandbox, failed_renewal(sandbox, name=n)["id"])
        for n in ("Ana", "Bo", "Cy", "Di")
    ]
    for kind, invoice in ((ActionKind.TAKE_OVER, renewals[0]), (ActionKind.RETRY, renewals[0])):
        approve(propose(invoice, kind, reasoning=LONG_REASONING), manager)
    for invoice, final in zip(renewals[1:], ("leave_unpaid", "write_off", "void"), strict=True):
        outcomes = end_of_dunning_propose(
            invoice=invoice, user=agent, subscription="cancel", invoice_action=final
        )
        for outcome in outcomes:
            approve(outcome.action, manager)
    for page in ("collect_now", "update_payment_method"):
        writes.hosted_page_link(kind=page, customer_id=renewals[0].customer_id, key=f"k-{page}")

    work()

    states = set(Action.objects.values_list("kind", "state"))
    assert {state for _, state in states} == {ActionState.EXECUTED}, states
    kinds = {kind for kind, _ in states}
    assert kinds >= {
        ActionKind.TAKE_OVER,
        ActionKind.RETRY,
        ActionKind.STOP_DUNNING,
        ActionKind.WRITE_OFF,
        ActionKind.VOID,
        ActionKind.CANCEL_SUBSCRIPTION,
    }
    posts = [e for e in chargebee_traffic if e.method == "POST"]
    assert {e.path.rsplit("/", 1)[-1] for e in posts} >= {
        "pause_dunning",
        "collect_payment",
        "comments",
        "stop_dunning",
        "write_off",
        "void",
        "cancel_for_items",
        "collect_now",
        "update_payment_method",
    }
    assert [p for e in posts for p in request_problems(e.method, e.path, e.params)] == []
