"""In a real browser: an admin chooses Zendesk on the Connections page, tests it (a refused
token, then a good one) and finds its health on System status."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_connects_zendesk_tests_it_and_sees_its_health(
    page, live_server, log_in, admin_user, peer, monkeypatch, screenshot
):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd-token")
    peer.answer("GET", "/api/v2/users/me.json", 401, {"error": "Couldn't authenticate you"})
    peer.answer("GET", "/api/v2/users/me.json", 200, {"user": {"id": 9001, "role": "admin"}})
    log_in("ada.admin")

    open_from_nav(page, "Connections")
    expect(page.locator("#connector-zendesk")).to_contain_text("DUNWELL_ZENDESK_API_TOKEN set")
    page.select_option("select[name=support_signals]", "zendesk")
    page.fill("input[name=zendesk__base_url]", peer.url)
    page.fill("input[name=zendesk__email]", "ops@example.com")
    page.fill("input[name=note]", "ticket sentiment from Zendesk")
    page.click("text=Save as a new version")
    expect(page.locator(".messages")).to_contain_text("Saved as version 1")

    zendesk = page.locator("#connector-zendesk")
    zendesk.locator("text=Test connection").click()
    expect(zendesk).to_contain_text(
        "refused the credentials (401): check DUNWELL_ZENDESK_API_TOKEN"
    )
    zendesk.locator("text=Test connection").click()
    expect(zendesk).to_contain_text("signed in as an admin (user 9001)")
    screenshot("connections-tested")

    open_from_nav(page, "System status")
    health = page.locator("#health-zendesk")
    expect(health).to_contain_text("working")
    expect(health).to_contain_text("refused the credentials (401)")
