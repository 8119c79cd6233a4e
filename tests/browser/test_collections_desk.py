"""In a real browser: an agent claims a case and edits a drafted payment-method request; a
manager approves it in the inbox; screenshots of the queue, the case and the inbox."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from collections_desk.teams import team_create, team_member_add
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import Action, ActionKind, ActionState
from tests.browser.navigation import open_from_nav
from tests.collections_desk.conftest import case_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(db):
    guardrails_active()  # a transactional test flushed the migration's first version
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="a person approves")
    general = team_create(name="Self-serve & growth")
    team_create(name="Enterprise", segments=["enterprise"], routing_order=10)
    agent = UserFactory(username="alice.agent", role="collections agent")
    team_member_add(team=general, user=agent)
    manager = UserFactory(username="mona.manager", role="collections manager")
    cases = [case_for(1), case_for(2, total=250_000), case_for(3, enterprise=True)]
    return {"agent": agent, "manager": manager, "cases": cases}


def test_agent_claims_and_edits_a_payment_method_request_that_a_manager_approves(
    page, live_server, log_in, desk, screenshot
):
    case = desk["cases"][0]
    link = Action.objects.filter(
        customer_id=case.customer_id, kind=ActionKind.PAYMENT_METHOD_LINK
    ).order_by("scheduled_for")[0]
    log_in("alice.agent")

    open_from_nav(page, "Queue")
    expect(page.locator("table.queue tbody tr")).to_have_count(2)  # not the enterprise case
    screenshot("collections-queue-agent")
    page.click("table.queue >> text=Ana Lima 1")
    expect(page.locator(".ai-summary .reasoning")).to_contain_text(
        "the issuer asked for the card to be picked up (decline 04)"
    )
    page.click("text=Claim this case")
    expect(page.locator(".messages")).to_contain_text("the case is yours")
    expect(page.locator(".case-head")).to_contain_text("assigned to alice.agent")
    page.fill("textarea[name=text]", "Called the customer: new card coming Friday.")
    page.click("text=Add note")
    expect(page.locator("#notes")).to_contain_text("new card coming Friday")
    screenshot("collections-case-detail")

    page.click("text=waiting for approval")
    card = page.locator(f"#action-{link.pk}")
    card.locator("summary", has_text="Edit the message").click()
    card.locator("textarea[name=text]").fill(
        "Hi Ana, your card was declined. Update it here: {pay_link}"
    )
    card.locator("select[name=channel]").select_option("sms")
    card.locator("text=Save the edit").click()
    expect(page.locator(f"#action-{link.pk} .outcome")).to_contain_text("someone else approves")
    expect(page.locator(f"#action-{link.pk} .approval-controls button.primary")).to_be_disabled()
    screenshot("collections-inbox-agent-edited")

    page.click("text=Log out")
    log_in("mona.manager")
    open_from_nav(page, "Approvals")
    card = page.locator(f"#action-{link.pk}")
    expect(card).to_contain_text("Edited")
    expect(card.locator(".draft")).to_contain_text("Hi Ana, your card was declined")
    screenshot("collections-inbox-manager")
    card.locator(".approval-controls button.primary").click()
    expect(page.locator(f"#action-{link.pk} .outcome")).to_contain_text("approved and scheduled")
    screenshot("collections-inbox-manager-approved")

    link.refresh_from_db()
    assert (link.state, link.channel, link.edited_by, link.decided_by) == (
        ActionState.SCHEDULED,
        "sms",
        desk["agent"],
        desk["manager"],
    )


def test_agent_cannot_open_the_guardrails_page_nor_another_teams_case(
    page, live_server, log_in, desk, screenshot
):
    log_in("alice.agent")

    assert page.locator("nav >> text=Guardrails").count() == 0
    assert page.goto(f"{live_server.url}/dunning/guardrails/").status == 403
    enterprise_case = desk["cases"][2]
    response = page.goto(f"{live_server.url}/collections/cases/{enterprise_case.pk}/")
    assert response.status == 404
    screenshot("collections-agent-other-team-404")


def test_agent_requests_a_payment_method_update_from_a_case(
    page, live_server, log_in, desk, screenshot
):
    case = desk["cases"][0]
    log_in("alice.agent")
    page.goto(f"{live_server.url}/collections/cases/{case.pk}/")

    page.click("a[href$='/dunning/invoices/inv_1/decisions/']")
    page.locator("#collect-request_payment_method button").click()

    # The demo customer has no email address: the person is told so, not "on its way".
    expect(page.locator("#collect .messages")).to_contain_text(
        "approved, but it will not be sent: the customer has no Email contact"
    )
    screenshot("invoice-request-payment-method")
    request = Action.objects.get(kind=ActionKind.PAYMENT_METHOD_LINK, decision__trigger="manual")
    assert (request.state, request.decided_by) == (ActionState.SCHEDULED, desk["agent"])


def test_manager_filters_the_inbox_reads_the_count_and_approves_the_set_with_a_reason(
    page, live_server, log_in, desk, screenshot
):
    log_in("mona.manager")
    open_from_nav(page, "Approvals")
    page.select_option("select[name=kind]", "payment_method_link")
    page.click("#inbox-filters button[type=submit]")
    expected = Action.objects.filter(
        kind=ActionKind.PAYMENT_METHOD_LINK, risk="low", state=ActionState.PROPOSED
    ).count()
    screenshot("collections-inbox-filtered")

    page.click("#bulk-approve-filtered")
    expect(page.locator("[data-bulk-question]")).to_contain_text(f"Approve {expected} actions")
    screenshot("collections-inbox-bulk-confirm")
    page.fill("#id_bulk_reason", "checked the list of link requests")
    page.check("input[name=confirm]")
    page.click("#bulk-confirm button.primary")

    expect(page.locator(".messages")).to_contain_text("Approved and scheduled")
    assert (
        Action.objects.filter(
            kind=ActionKind.PAYMENT_METHOD_LINK, state=ActionState.SCHEDULED
        ).count()
        == expected
    )
