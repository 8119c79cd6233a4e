"""In a real browser: a manager picks customers at risk and launches a card-update campaign."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.models import PreDunningCampaign
from dunning.decisions.policy_settings.guardrails import guardrails_update
from tests.analytics.at_risk_data import month_before, renewing
from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_launches_a_campaign_from_the_at_risk_page(
    page, live_server, log_in, manager, admin_user, screenshot
):
    guardrails_update(changes={"default_mode": "approve"}, user=admin_user)
    now = timezone.now()
    renewing("eve", expiry=month_before(now + timedelta(days=10)), first_name="Eve", now=now)
    renewing("fay", failures=3, first_name="Fay", now=now)
    renewing("cal", first_name="Cal", now=now)
    log_in("mona.manager")

    open_from_nav(page, "At risk")

    expect(page.locator("h1")).to_have_text("Renewals at risk")
    rows = page.locator("#at-risk tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Eve")
    expect(rows.first).to_contain_text("expires")
    page.get_by_label("Pick Eve").check()
    page.get_by_label("Pick Fay").check()
    page.fill("input[name=name]", "Check cards before renewal")
    screenshot("at-risk")
    page.get_by_role("button", name="Launch campaign").click()

    expect(page.locator("h1")).to_have_text("Check cards before renewal")
    expect(page.locator("[data-figure-name=renewed]")).to_have_text("0")
    expect(page.get_by_text("2 still to come")).to_be_visible()
    screenshot("pre-dunning-campaign")
    campaign = PreDunningCampaign.objects.get()
    assert set(campaign.members.values_list("customer_cb_id", flat=True)) == {
        "cus_reve",
        "cus_rfay",
    }
