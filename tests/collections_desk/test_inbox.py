"""The approval inbox as a working day uses it: what I can decide now, filters with counts,
the message as the customer will get it, and bulk approval behind a count confirmation."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dunning.actions.channels.delivery import message_deliver
from dunning.actions.channels.preview import LINKS_SHOWN, message_preview
from dunning.actions.state_machine import action_approve, action_edit, action_fingerprint
from dunning.models import (
    Action,
    ActionApproval,
    ActionKind,
    ActionState,
    Customer,
    Invoice,
    OutboundMessage,
)
from tests.collections_desk.conftest import case_for

pytestmark = pytest.mark.django_db


def link_of(case) -> Action:
    Customer.objects.filter(cb_id=case.customer_id, email="").update(email="ana@example.test")
    return (
        Action.objects.filter(customer_id=case.customer_id, kind=ActionKind.PAYMENT_METHOD_LINK)
        .order_by("scheduled_for")
        .first()
    )


def inbox(client, **params) -> str:
    return client.get(reverse("collections_desk:inbox"), params).content.decode()


def cards(body: str) -> str:
    return body[body.index('id="inbox-groups"') :]


@pytest.fixture
def two_links(approve_mode, teams):
    """Two payment-method links on the general team: one low risk, one only a manager approves."""
    low, high = link_of(case_for(1)), link_of(case_for(2))
    Action.objects.filter(pk=high.pk).update(risk="high")
    return low, high


def test_an_agent_sees_first_what_they_can_approve_not_what_waits_for_a_manager(
    client, two_links, agent
):
    low, high = two_links
    client.force_login(agent)

    mine, everything = cards(inbox(client)), cards(inbox(client, show="all"))

    assert f'id="action-{low.pk}"' in mine and f'id="action-{high.pk}"' not in mine
    assert f'id="action-{high.pk}"' in everything
    assert 'data-show="mine" aria-current="page"' in inbox(client)


def test_a_manager_can_decide_both_and_filters_show_counts(client, two_links, manager):
    low, high = two_links
    client.force_login(manager)

    body = inbox(client, kind="payment_method_link")
    # each case has a link and its reminder: 1 high-risk, 3 low-risk
    assert "High risk (1)" in body and "Low risk (3)" in body
    filtered = inbox(client, risk="high", kind="payment_method_link")

    assert f'id="action-{high.pk}"' in cards(filtered)
    assert f'id="action-{low.pk}"' not in cards(filtered)
    # the risk counts stay those of the other filters, so switching is one click
    assert "Low risk (3)" in filtered


def test_the_amount_filter_reads_each_currency_in_its_own_units(client, two_links, manager):
    low, high = two_links
    Invoice.objects.filter(cb_id=high.invoice_id).update(currency_code="JPY", amount_due=22_000)
    client.force_login(manager)

    over_100 = cards(
        inbox(client, amount_min="100", kind="payment_method_link")
    )  # 49.00 EUR, 22,000 JPY

    assert f'id="action-{high.pk}"' in over_100 and f'id="action-{low.pk}"' not in over_100


def test_the_card_shows_the_message_the_customer_will_get_and_edit_starts_from_it(
    client, two_links, manager
):
    low, _ = two_links
    client.force_login(manager)

    body = inbox(client)

    low.refresh_from_db()
    kept = low.params["draft"]
    card = body[body.index(f'id="action-{low.pk}"') :]
    card = card[: card.index("</article>")]
    assert "Ana" in card and "49.00" in card  # first name and amount resolved for the approver
    assert "{first_name}" not in card.split("<textarea")[0]
    assert "made by Chargebee when it is sent" in card  # where the link goes
    assert (
        kept["body"].split("{")[0].strip()[:30] in card.split("<textarea")[1]
    )  # edit starts there
    assert "You approve:" in card and "EUR" in card


def test_what_was_approved_is_what_is_sent_and_the_approval_keeps_it(
    client, general_case, manager, settings
):
    settings.QUIET_HOURS = ""
    link = link_of(general_case)
    client.force_login(manager)
    inbox(client)  # the card drafts the message and keeps it
    link.refresh_from_db()
    shown = message_preview(action=link)

    action_approve(action=link, user=manager, fingerprint=action_fingerprint(link))
    message_deliver(action=Action.objects.get(pk=link.pk), links={"pay_link": "https://pay.test/x"})

    sent = OutboundMessage.objects.get(action=link)
    assert sent.body == shown.body.replace(LINKS_SHOWN["pay_link"], "https://pay.test/x")
    assert sent.subject == shown.subject
    kept = link.params["draft"]["body"]
    approval = ActionApproval.objects.get(action=link, user=manager)
    assert approval.fingerprint == action_fingerprint(link)
    assert kept in approval.shown_text and "49.00 EUR" in approval.shown_text


def test_an_approval_no_longer_holds_when_the_invoice_amount_changes(general_case, manager):
    from dunning.actions.state_machine import action_may_approve

    link = link_of(general_case)
    action_approve(action=link, user=manager, fingerprint=action_fingerprint(link))
    Invoice.objects.filter(cb_id=link.invoice_id).update(amount_due=9_900)

    allowed, why = action_may_approve(action=Action.objects.get(pk=link.pk), user=manager)

    assert not allowed and "changed after it was approved" in why


def test_who_edits_what_they_approved_loses_that_approval(approve_mode, teams, agent, settings):
    settings.TWO_APPROVERS_FROM_AMOUNT = 4900
    link = link_of(case_for(1))
    action_approve(action=link, user=agent, fingerprint=action_fingerprint(link))

    action_edit(
        action=link,
        user=agent,
        fingerprint=action_fingerprint(link),
        text="Hi {first_name}, please update your card: {pay_link}",
        channel="email",
        scheduled_for=link.scheduled_for,
    )

    link.refresh_from_db()
    counted = ActionApproval.objects.filter(action=link, fingerprint=action_fingerprint(link))
    assert not counted.exists()
    with pytest.raises(Exception, match="you edited this action"):
        action_approve(action=link, user=agent, fingerprint=action_fingerprint(link))


def bulk_url(**params) -> str:
    from urllib.parse import urlencode

    return reverse("collections_desk:inbox_bulk_approve") + (
        "?" + urlencode(params) if params else ""
    )


def test_bulk_approval_asks_with_the_count_and_total_and_approves_exactly_those(
    client, approve_mode, teams, manager
):
    link_of(case_for(1)), link_of(case_for(2, total=12_000))
    counted = list(
        Action.objects.filter(kind=ActionKind.PAYMENT_METHOD_LINK).values_list("pk", flat=True)
    )  # a link and its reminder per case
    client.force_login(manager)

    page = client.get(bulk_url(kind="payment_method_link")).content.decode()
    assert "Approve 4 actions totalling EUR 338.00?" in page  # 2 x 49.00 + 2 x 120.00
    fields = re.findall(r'name="approve" value="([^"]+)"', page)
    late = link_of(case_for(3))  # proposed after the count: not covered

    refused = client.post(bulk_url(), {"approve": fields, "count": 4})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert not Action.objects.filter(state=ActionState.SCHEDULED).exists()

    done = client.post(
        bulk_url(), {"approve": fields, "count": 4, "reason": "month-end batch", "confirm": "yes"}
    )
    assert done.status_code == 302
    scheduled = set(Action.objects.filter(state="scheduled").values_list("pk", flat=True))
    assert scheduled == set(counted) and late.pk not in scheduled


def test_a_bulk_confirmation_whose_count_does_not_match_is_refused(client, general_case, manager):
    link = link_of(general_case)
    client.force_login(manager)

    response = client.post(
        bulk_url(),
        {
            "approve": [f"{link.pk}:{action_fingerprint(link)}"],
            "count": 3,
            "reason": "x",
            "confirm": "yes",
        },
    )

    assert (
        response.status_code == 400 and "You confirmed 3 actions but 1" in response.content.decode()
    )
    assert Action.objects.get(pk=link.pk).state == ActionState.PROPOSED


def drafted(action: Action) -> bool:
    action.refresh_from_db()
    return isinstance(action.params.get("draft"), dict)


def test_a_proposed_message_is_drafted_by_its_job_and_a_second_run_changes_nothing(
    approve_mode, teams, django_capture_on_commit_callbacks
):
    from dunning.actions.channels.preview import draft_message_job
    from dunning.helpers.queueing import get_queue

    with django_capture_on_commit_callbacks(execute=True):
        case = case_for(1)
    link = link_of(case)
    assert get_queue("default").fetch_job(f"draft-message-{link.pk}") is not None
    assert not drafted(link)  # the job has not run yet

    assert draft_message_job(link.pk) is True
    kept = Action.objects.get(pk=link.pk).params["draft"]
    assert draft_message_job(link.pk) is True
    assert Action.objects.get(pk=link.pk).params["draft"] == kept


def test_a_page_drafts_a_few_missing_messages_and_says_the_others_are_being_drafted(
    client, approve_mode, teams, manager
):
    from dunning.actions.channels.preview import DRAFTS_ON_VIEW

    for n in range(1, 4):
        link_of(case_for(n))  # a link and its reminder each, none drafted yet
    links = list(Action.objects.filter(kind=ActionKind.PAYMENT_METHOD_LINK))
    client.force_login(manager)

    body = cards(inbox(client))

    assert sum(drafted(link) for link in links) == DRAFTS_ON_VIEW < len(links)
    waiting = len(links) - DRAFTS_ON_VIEW
    assert body.count("it is being drafted; reload in a moment") == waiting
    assert body.count('title="Its message is being drafted: reload to read it"') == waiting


def test_the_inbox_reads_as_many_queries_for_six_cards_as_for_two(
    client, approve_mode, teams, manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dunning.actions.channels.preview import draft_message_job

    def page_queries() -> tuple[int, int]:
        for pk in Action.objects.values_list("pk", flat=True):
            draft_message_job(pk)
        with CaptureQueriesContext(connection) as captured:
            body = cards(inbox(client))
        return len(captured), body.count('class="card approval"')

    client.force_login(manager)
    link_of(case_for(1))
    few, few_cards = page_queries()
    for n in range(2, 4):
        link_of(case_for(n))
    many, many_cards = page_queries()

    assert many_cards == 3 * few_cards and many == few


def test_a_bulk_count_leaves_out_messages_still_being_drafted_and_says_how_many(
    client, approve_mode, teams, manager, monkeypatch
):
    monkeypatch.setattr("collections_desk.inbox_views.DRAFTS_ON_BULK_VIEW", 1)
    link_of(case_for(1)), link_of(case_for(2))  # a link and its reminder each, none drafted
    client.force_login(manager)

    page = client.get(bulk_url(kind="payment_method_link")).content.decode()

    assert "Approve 1 action totalling" in page
    assert "3 more messages that match are being drafted and not in this count" in page
    counted = re.findall(r'name="approve" value="(\d+):', page)
    assert drafted(Action.objects.get(pk=counted[0]))
