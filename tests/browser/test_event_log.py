"""In a real browser: an admin finds a failed event and reprocesses it; an agent can't."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dunning.models import ChargebeeEvent, EventState
from dunning.sync.ingest import event_store
from tests.browser.navigation import open_from_nav
from tests.conftest import load_sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_filters_the_event_log_and_reprocesses_a_failed_event(
    page, live_server, log_in, admin_user, screenshot
):
    failed = event_store(payload=load_sample("payment_failed")).event
    event_store(payload=load_sample("invoice_updated"))
    ChargebeeEvent.objects.filter(pk=failed.pk).update(
        state=EventState.FAILED, last_error="OperationalError: database is locked"
    )
    log_in("ada.admin")
    screenshot("overview-admin")

    open_from_nav(page, "Event log")
    page.select_option("select[name=state]", "failed")  # htmx swaps the table in place
    expect(page.locator("table.events >> text=ev_16BgNRSDmSfQB2sPm")).to_have_count(0)
    expect(page.locator("table.events >> text=ev_3Nl7oGgQqGG8UK4s")).to_have_count(1)
    assert "state=failed" in page.url
    screenshot("event-log-filtered")

    page.click("text=ev_3Nl7oGgQqGG8UK4s")
    assert page.locator("text=database is locked").is_visible()
    page.click("text=Reprocess this event")
    page.wait_for_selector("text=reprocessed: processed")
    screenshot("event-detail-reprocessed")

    failed.refresh_from_db()
    assert failed.state == EventState.PROCESSED


def test_agent_has_no_event_log_link_and_is_refused_the_page(
    page, live_server, log_in, agent, screenshot
):
    log_in("alice.agent")

    assert page.locator("nav >> text=Event log").count() == 0
    response = page.goto(f"{live_server.url}/dunning/events/")
    assert response.status == 403
    assert page.locator("text=You can't open this page").is_visible()
    screenshot("overview-agent")
