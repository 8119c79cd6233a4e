"""In a real browser: an admin connects the Chargebee site, registers the webhook endpoint
and follows a backfill until it is done."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.navigation import open_from_nav
from tests.conftest import failed_renewal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_connects_the_site_and_follows_the_backfill(
    page, live_server, log_in, admin_user, sandbox, run_jobs, screenshot, settings
):
    settings.PUBLIC_BASE_URL = "https://dunwell.example.com"
    failed_renewal(sandbox)
    log_in("ada.admin")

    open_from_nav(page, "Chargebee")
    expect(page.locator("#site-check")).to_contain_text("connected")
    expect(page.locator("#site-check")).to_contain_text("USD · base")
    page.click("text=Create or update the endpoint")
    expect(page.locator(".messages")).to_contain_text(
        "created: https://dunwell.example.com/webhooks/chargebee/ with Basic auth"
    )
    page.fill("input[name=since]", (timezone.now() - timedelta(days=1)).date().isoformat())
    page.click("text=Start the backfill")
    expect(page.locator(".messages")).to_contain_text("queued")
    expect(page.locator("#backfill-runs")).to_contain_text("Queued")

    run_jobs()

    expect(page.locator("#backfill-runs")).to_contain_text("Done", timeout=10_000)
    expect(page.locator("tr.backfill-run").first).to_contain_text(str(len(sandbox.events)))
    screenshot("chargebee-connection")
    [endpoint] = sandbox.webhook_endpoints.values()
    assert endpoint["url"] == "https://dunwell.example.com/webhooks/chargebee/"
