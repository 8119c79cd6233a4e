"""The working day of a manager and an admin in a real browser, on a desk and on a phone:
the manager filters the inbox, reads the message a customer will get and approves it; the
admin changes a guardrail with a reason, then rolls it back with a reason and a tick."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from collections_desk.teams import team_create
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import Action, ActionKind, ActionState, Customer
from tests.browser.navigation import open_from_nav
from tests.collections_desk.conftest import case_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = [1440, 390]


@pytest.fixture
def desk(db):
    guardrails_active()  # a transactional test flushed the migration's first version
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="a person approves")
    team_create(name="Self-serve & growth")
    UserFactory(username="mona.manager", role="collections manager")
    cases = [case_for(1), case_for(2, total=250_000)]
    Customer.objects.update(email="ana@lima.test")
    return cases


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("width", WIDTHS)
def test_manager_filters_the_inbox_reads_the_draft_and_approves_it(
    page, live_server, log_in, desk, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    log_in("mona.manager")

    open_from_nav(page, "Approvals")
    if width < 900:  # on a phone the filters are folded until asked for
        page.click("details.filters > summary")
    page.select_option("select[name=kind]", "payment_method_link")
    page.click("#inbox-filters button[type=submit]")
    first = Action.objects.filter(kind=ActionKind.PAYMENT_METHOD_LINK, state=ActionState.PROPOSED)
    first = first.order_by("scheduled_for", "pk").first()
    card = page.locator(f"#action-{first.pk}")
    expect(card.locator(".draft")).to_contain_text("Ana")  # the customer's own words, filled in
    assert fits(page)
    screenshot(f"journey-{width}-manager-1-inbox")

    card.locator(".approval-controls button.primary").click()

    expect(page.locator(f"#action-{first.pk} .outcome")).to_contain_text("approved")
    screenshot(f"journey-{width}-manager-2-approved")
    first.refresh_from_db()
    assert first.state == ActionState.SCHEDULED and first.decided_by.username == "mona.manager"


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_changes_a_guardrail_then_rolls_it_back_with_a_reason(
    page, live_server, log_in, admin_user, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    before = guardrails_active()
    log_in("ada.admin")

    open_from_nav(page, "Guardrails")
    page.fill("input[name=review_threshold]", "25")
    page.fill("input[name=note]", "a person looks at more invoices this week")
    page.click("text=Save as version")
    expect(page.locator(".messages")).to_contain_text("Saved as version")
    assert guardrails_active().review_threshold == 0.25
    assert fits(page)
    screenshot(f"journey-{width}-admin-1-saved")

    row = page.locator(f"#version-{before.version}")
    row.locator("summary", has_text=f"Roll back to v{before.version}").click()
    row.locator("button", has_text=f"Roll back to v{before.version}").click()
    assert guardrails_active().review_threshold == 0.25  # no reason, no tick: the browser asks
    row.locator("input[name=reason]").fill("the week is over")
    row.locator("input[name=confirm]").check()
    screenshot(f"journey-{width}-admin-2-confirm")
    row.locator("button", has_text=f"Roll back to v{before.version}").click()

    expect(page.locator(".messages")).to_contain_text(
        f"Version {before.version}'s values are in force again"
    )
    assert guardrails_active().review_threshold == before.review_threshold
    screenshot(f"journey-{width}-admin-3-rolled-back")
