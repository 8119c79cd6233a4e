"""What the Recovery page credits each recovery to: the last touch before the payment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.attribution import ATTRIBUTION_LABELS
from analytics.filters import filters_parse
from analytics.recovery import main_currency, recovery_summary
from analytics.recovery_breakdowns import recovery_by_path
from analytics.recovery_invoices import InvoiceBucket, recovery_invoices_page
from dunning.models import Action, ActionKind, ActionState, Decision, OutboundMessage, Purpose
from tests.analytics.mirror import days_ago, failed_invoice

pytestmark = pytest.mark.django_db

FAILED = days_ago(20)
PAID_AFTER = timedelta(days=10)
PAID = FAILED + PAID_AFTER


def filters():
    parsed = filters_parse(params={})
    return parsed.with_currency(main_currency(filters=parsed))


def credited() -> dict[str, int]:
    return {row[0]: row[1] for row in recovery_by_path(filters=filters()).rows if row[1]}


def recovered(n: int, **kwargs):
    return failed_invoice(n, failed_at=FAILED, paid_after=PAID_AFTER, **kwargs)


def message(
    invoice,
    *,
    before: timedelta,
    channel="email",
    purpose=Purpose.RETRY_SCHEDULED,
    opened: timedelta | None = None,
    clicked: timedelta | None = None,
):
    """A message sent ``before`` the payment; opened/clicked that long before it (negative:
    after the payment)."""
    return OutboundMessage.objects.create(
        customer=invoice.customer,
        invoice=invoice,
        channel=channel,
        purpose=purpose,
        recipient="someone",
        body="...",
        status="sent",
        sent_at=PAID - before,
        drafter="builtin",
        opened_at=PAID - opened if opened is not None else None,
        clicked_at=PAID - clicked if clicked is not None else None,
    )


def decision(invoice, *, before: timedelta, card_updater: str = "") -> Decision:
    explanation = {"card_updater": {"outcome": card_updater}} if card_updater else {}
    return Decision.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        trigger="payment_failed",
        as_of=PAID - before,
        model_version="test",
        segment="self_serve",
        mode="auto",
        reasoning="test",
        explanation=explanation,
    )


def retry(invoice, *, before: timedelta) -> Action:
    return Action.objects.create(
        decision=decision(invoice, before=before + timedelta(hours=1)),
        invoice=invoice,
        customer=invoice.customer,
        kind=ActionKind.RETRY,
        mode="auto",
        state=ActionState.EXECUTED,
        state_changed_at=PAID - before,
    )


def test_each_kind_of_touch_is_credited_when_it_came_last():
    message(
        recovered(1), before=timedelta(days=2), opened=timedelta(days=1), clicked=timedelta(hours=1)
    )
    message(recovered(2), before=timedelta(days=2), opened=timedelta(days=1))
    message(recovered(3), before=timedelta(days=2))
    message(recovered(4), before=timedelta(days=1), channel="sms")
    message(recovered(5), before=timedelta(days=1), channel="in_app")
    message(
        recovered(6, new_card=True),
        before=timedelta(days=1),
        purpose=Purpose.PAYMENT_METHOD_UPDATE,
        clicked=timedelta(minutes=5),
    )
    message(recovered(7), before=timedelta(days=1), purpose=Purpose.AUTHENTICATION_NEEDED)
    decision(recovered(8), before=timedelta(days=1), card_updater="updated")
    retry(recovered(9), before=-timedelta(seconds=2))  # its own payment is dated just before
    recovered(10, new_card=True)
    recovered(11)

    assert credited() == {
        "Email, link clicked": 1,
        "Email, opened": 1,
        "Email, no open seen": 1,
        "SMS": 1,
        "In-app message": 1,
        "Payment-method link, clicked": 1,
        "Payment-method link, no click seen": 1,
        "Card updater": 1,
        "Dunwell retry": 1,
        "Customer's own new payment method": 1,
        "Chargebee's own retry": 1,
    }


def test_the_last_touch_wins_and_a_click_makes_an_old_message_the_last():
    first = recovered(1)
    message(first, before=timedelta(days=5))
    retry(first, before=timedelta(days=2))  # the retry came after the email: it is credited
    second = recovered(2)
    retry(second, before=timedelta(days=2))
    message(second, before=timedelta(days=5), clicked=timedelta(hours=3))  # clicked later

    assert credited() == {"Dunwell retry": 1, "Email, link clicked": 1}


def test_touches_older_than_7_days_and_opens_after_the_payment_do_not_count():
    message(recovered(1), before=timedelta(days=8))
    retry(recovered(2), before=timedelta(days=7, hours=1))
    message(
        recovered(3),
        before=timedelta(days=1),
        opened=-timedelta(hours=2),
        clicked=-timedelta(hours=1),
    )
    decision(recovered(4), before=timedelta(days=1), card_updater="no_update")

    assert credited() == {"Chargebee's own retry": 3, "Email, no open seen": 1}


def test_the_rows_add_up_to_the_recovered_headline_and_the_rule_is_stated():
    message(recovered(1), before=timedelta(days=1), clicked=timedelta(hours=1))
    retry(recovered(2), before=timedelta(days=1))
    recovered(3)
    failed_invoice(4, failed_at=FAILED)  # not recovered: not credited to anything

    table = recovery_by_path(filters=filters())

    assert [row[0] for row in table.rows] == list(ATTRIBUTION_LABELS)
    assert (
        sum(table.column("recovered invoices"))
        == recovery_summary(filters=filters())["recovered"]
        == 3
    )
    assert table.note.startswith(
        "Each recovery is credited to the last thing that happened to the invoice before "
        "the payment, within 7 days"
    )
    assert "No delivery, open or click has been reported" in table.note


def test_each_bar_counts_the_invoices_a_click_on_it_lists(manager):
    """The chart adds the credits up in one aggregate, the invoices behind a bar are picked
    by the rule row by row: with touches that compete (a message and a retry, a link and the
    card updater, ties), the two agree on every label."""
    email_then_retry = recovered(1)
    message(email_then_retry, before=timedelta(days=3), opened=timedelta(days=2))
    retry(email_then_retry, before=timedelta(days=1))
    link_then_updater = recovered(2, new_card=True)
    message(link_then_updater, before=timedelta(days=2), purpose=Purpose.PAYMENT_METHOD_UPDATE)
    decision(link_then_updater, before=timedelta(days=1), card_updater="updated")
    tie = recovered(3)
    message(tie, before=timedelta(days=1), channel="sms")
    decision(tie, before=timedelta(days=1), card_updater="updated")
    clicked_link = recovered(4)
    message(
        clicked_link,
        before=timedelta(days=4),
        purpose=Purpose.AUTHENTICATION_NEEDED,
        clicked=timedelta(hours=2),
    )
    retry(clicked_link, before=timedelta(days=2))
    message(recovered(5), before=timedelta(days=1), channel="in_app")
    recovered(6, new_card=True)
    recovered(7)

    bars = {row[0]: row[1] for row in recovery_by_path(filters=filters()).rows}
    listed = {
        label: recovery_invoices_page(
            user=manager, filters=filters(), bucket=InvoiceBucket(path=label)
        ).count()
        for label in ATTRIBUTION_LABELS
    }

    assert bars == listed
    assert {label: n for label, n in bars.items() if n} == {
        "Dunwell retry": 1,
        "Card updater": 1,
        "SMS": 1,  # a tie goes to the earlier kind in the rule
        "Payment-method link, clicked": 1,
        "In-app message": 1,
        "Customer's own new payment method": 1,
        "Chargebee's own retry": 1,
    }
