"""In a real browser: an admin moves a segment from shadow to approve; a manager only reads.
And the AI impact page draws its charts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dunning.decisions.policy_settings.guardrails import guardrails_active
from tests.analytics.test_shadow import shadow_decision
from tests.browser.charts import scroll_to_chart
from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_moves_a_segment_from_shadow_to_approve(
    page, live_server, log_in, admin_user, screenshot
):
    before = guardrails_active()  # a transactional test flushed the migration's first version
    shadow_decision(1, segment="growth", paid_after=timedelta(days=2), score=0.6)
    log_in("ada.admin")

    open_from_nav(page, "Rollout")
    growth = page.locator("tr[data-segment=growth]")
    expect(growth.locator("[data-mode]")).to_have_text("Shadow")
    expect(growth).to_contain_text("stay in shadow: 1 settled shadow decisions < 200")
    screenshot("rollout-admin")
    expect(growth.locator("select[name=mode]")).to_have_value("approve")  # the next step
    growth.locator("text=Switch Growth").click()  # no reason, not confirmed: the browser asks
    assert guardrails_active().version == before.version
    growth.locator("input[name=reason]").fill("shadow results look right for growth")
    growth.locator("input[name=confirm]").check()
    growth.locator("text=Switch Growth").click()

    expect(page.locator(".messages")).to_contain_text("growth is now in approve mode")
    expect(page.locator("tr[data-segment=growth] [data-mode]")).to_have_text("Approve")
    screenshot("rollout-switched")
    after = guardrails_active()
    assert after.version == before.version + 1 and after.mode_for("growth") == "approve"


def test_manager_sees_the_rollout_without_a_switch_and_the_impact_charts(
    page, live_server, log_in, manager, screenshot
):
    guardrails_active()
    shadow_decision(
        1,
        paid_after=timedelta(days=2),
        score=0.6,
        retry_in=timedelta(days=1),
        chargebee_retry_in=timedelta(days=1, hours=1),
    )
    log_in("mona.manager")

    open_from_nav(page, "Rollout")
    expect(page.locator("tr[data-segment=self_serve]")).to_contain_text("1 settled of 1 invoice")
    assert page.locator("form.rollout-switch").count() == 0
    screenshot("rollout-manager")

    open_from_nav(page, "AI impact")
    scroll_to_chart(page, "#chart-calibration", timeout=30_000)
    scroll_to_chart(page, "#chart-shadow")
    expect(page.locator("#shadow-recent")).to_contain_text("inv_1")
    screenshot("ai-impact")
