"""In a real browser at 1440 and 390 px: an agent opens the queue, claims a case, records
the customer's promise to pay and a follow-up task, and finds it in "my tasks today"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from collections_desk.models import CaseState, FollowUpTask, PromiseToPay
from collections_desk.teams import team_create, team_member_add
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import Customer
from tests.browser.navigation import open_from_nav
from tests.collections_desk.conftest import case_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(db):
    guardrails_active()  # a transactional test flushed the migration's first version
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="a person approves")
    general = team_create(name="Self-serve & growth")
    agent = UserFactory(username="alice.agent", role="collections agent")
    team_member_add(team=general, user=agent)
    cases = [case_for(1), case_for(2, total=250_000)]
    Customer.objects.filter(cb_id="cus_1").update(
        email="ana@lima.test",
        phone="+49 30 1234567",
        billing_address={"line1": "Hauptstr. 5", "zip": "10115", "city": "Berlin", "country": "DE"},
    )
    return {"agent": agent, "cases": cases}


@pytest.mark.parametrize("width", [1440, 390])
def test_agent_claims_a_case_records_a_promise_and_a_task(
    page, live_server, log_in, desk, screenshot, width
):
    page.set_viewport_size({"width": width, "height": 900})
    case = desk["cases"][0]
    log_in("alice.agent")

    if width >= 1000:
        open_from_nav(page, "Queue")
    else:
        page.goto(f"{live_server.url}/collections/")
    expect(page.locator("nav.ageing")).to_contain_text("0-30 days")
    screenshot(f"journey-{width}-1-queue")
    page.click("table.queue >> text=Ana Lima 1")
    page.click("text=Claim this case")
    expect(page.locator(".messages")).to_contain_text("the case is yours")
    expect(page.locator("#contact")).to_contain_text("ana@lima.test")
    expect(page.locator("#contact")).to_contain_text("Hauptstr. 5")

    promised_for = timezone.now().date() + timedelta(days=5)
    form = page.locator("#promise form")
    form.locator("input[name=amount]").fill("49.00")
    form.locator("input[name=promised_for]").fill(promised_for.isoformat())
    form.locator("button").click()
    expect(page.locator(".messages")).to_contain_text("Promise recorded: 49.00 EUR")
    expect(page.locator("#case-state")).to_have_text("Promised to pay")
    expect(page.locator("#promise")).to_contain_text("Active")
    screenshot(f"journey-{width}-2-promise")

    tasks = page.locator("#tasks form")
    tasks.locator("input[name=title]").fill("Check the transfer arrived")
    tasks.locator("input[name=due_on]").fill(timezone.now().date().isoformat())
    tasks.locator("button").click()
    expect(page.locator(".messages")).to_contain_text("Task added for alice.agent")
    screenshot(f"journey-{width}-3-case")

    page.goto(f"{live_server.url}/collections/tasks/")
    row = page.locator("tr.task-row", has_text="Check the transfer arrived")
    expect(row).to_contain_text("Ana Lima 1")
    screenshot(f"journey-{width}-4-my-tasks")
    row.locator("text=Mark done").click()
    expect(page.locator(".messages")).to_contain_text("Done: Check the transfer arrived")

    case.refresh_from_db()
    assert case.state == CaseState.PROMISED and case.assignee == desk["agent"]
    assert PromiseToPay.objects.get(case=case).amount == 4900
    assert FollowUpTask.objects.get(case=case).done_by == desk["agent"]
