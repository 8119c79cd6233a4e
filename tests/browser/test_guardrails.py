"""In a real browser: an admin changes a segment's mode with a reason; an agent can't open it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from tests.browser.navigation import open_from_nav
from tests.dunning.decided import decided_invoice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_changes_a_segment_mode_and_sees_the_new_version_in_the_history(
    page, live_server, log_in, admin_user, screenshot
):
    guardrails_active()  # a transactional test flushed the migration's first version
    log_in("ada.admin")

    open_from_nav(page, "Guardrails")
    screenshot("guardrails-admin")
    page.fill("input[name=review_threshold]", "120")
    page.click("text=Save as version")
    expect(page.locator(".field.has-error").first).to_contain_text("less than or equal to 100")
    expect(page.locator(".field.has-error").last).to_contain_text("Say why")
    screenshot("guardrails-refused")

    page.fill("input[name=review_threshold]", "20")
    page.select_option("select[name=mode_growth]", "approve")
    page.fill("input[name=note]", "growth pilot: a person approves every action")
    page.click("text=Save as version")

    expect(page.locator(".messages")).to_contain_text("Saved as version")
    history = page.locator("table.versions tbody tr").first
    expect(history).to_contain_text("growth pilot: a person approves every action")
    expect(history).to_contain_text("ada.admin")
    expect(history).to_contain_text("Mode for Growth")
    expect(history.locator("ins")).to_have_text("Approve")
    screenshot("guardrails-saved")
    assert guardrails_active().segment_modes == {"growth": "approve"}


def test_admin_reads_an_invoices_decisions(page, live_server, log_in, admin_user, screenshot):
    guardrails_update(changes={"segment_modes": {"self_serve": "approve"}}, user=None, note="x")
    decided_invoice(1, decline_code="04")
    decided_invoice(2)
    log_in("ada.admin")

    open_from_nav(page, "Decisions")
    screenshot("decision-list")
    page.click("table.decisions >> text=inv_1")
    expect(page.locator(".reasoning")).to_contain_text(
        "No retry: the issuer asked for the card to be picked up (decline 04)"
    )
    page.click("text=Feature snapshot")
    page.click("text=Verify these entries")
    expect(page.locator("#audit")).to_contain_text("Intact")
    screenshot("invoice-decisions")


def test_manager_reads_the_guardrails_without_a_save_button(
    page, live_server, log_in, manager, screenshot
):
    guardrails_active()
    log_in("mona.manager")

    open_from_nav(page, "Guardrails")

    expect(page.locator("select[name=mode_growth]")).to_be_disabled()
    assert page.locator("text=Save as version").count() == 0
    screenshot("guardrails-manager")


def test_agent_cannot_open_the_guardrails_page(page, live_server, log_in, agent, screenshot):
    log_in("alice.agent")

    assert page.locator("nav >> text=Guardrails").count() == 0
    assert page.locator("nav >> text=Decisions").count() == 1
    response = page.goto(f"{live_server.url}/dunning/guardrails/")
    assert response.status == 403
    assert page.locator("text=You can't open this page").is_visible()
    screenshot("guardrails-agent-refused")
