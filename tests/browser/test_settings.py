"""In a real browser: an admin changes the quiet hours with a reason, finds the change in
the settings history and rolls it back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dunning.decisions.policy_settings.channel_settings import (
    CHANNEL_SETTINGS,
    channel_settings_read,
)
from dunning.governance.config_versions import config_current, config_update
from dunning.models import ConfigVersion
from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_changes_quiet_hours_and_rolls_back_from_the_settings_history(
    page, live_server, log_in, admin_user, screenshot, settings
):
    settings.QUIET_HOURS = "21:00-08:00"
    data = {**config_current(kind=CHANNEL_SETTINGS), "quiet_hours": "20:00-08:00"}
    config_update(kind=CHANNEL_SETTINGS, data=data, user=admin_user, note="earlier evenings")
    log_in("ada.admin")

    open_from_nav(page, "Channels")
    page.fill("input[name=quiet_hours]", "22:00-07:00")
    page.click("text=Save as a new version")
    expect(page.locator(".form-errors, .error").first).to_contain_text("required")
    page.fill("input[name=note]", "customers asked for later texts")
    page.click("text=Save as a new version")

    expect(page.locator(".messages")).to_contain_text("Saved as version 2")
    latest = page.locator("table.versions tbody tr").first
    expect(latest).to_contain_text("customers asked for later texts")
    expect(latest.locator("del")).to_have_text("20:00-08:00")
    expect(latest.locator("ins")).to_have_text("22:00-07:00")
    screenshot("channel-settings-saved")
    assert channel_settings_read().quiet.start.hour == 22

    open_from_nav(page, "Settings history")
    change = page.locator("table.settings-history tbody tr").first
    expect(change).to_contain_text("Channel settings v2")
    expect(change).to_contain_text("ada.admin")
    screenshot("settings-history")
    change.locator("text=Open to roll back").click()
    assert page.url.endswith("/dunning/settings/channels/#version-2")  # the exact version
    earlier = page.locator("#version-1")
    earlier.locator("summary", has_text="Roll back to v1").click()
    earlier.locator("button", has_text="Roll back to v1").click()  # no reason yet: the browser asks
    assert ConfigVersion.objects.filter(key="channels").count() == 2
    earlier.locator("input[name=reason]").fill("the later texts annoyed night-shift customers")
    earlier.locator("input[name=confirm]").check()
    screenshot("channel-settings-rollback-confirm")
    earlier.locator("button", has_text="Roll back to v1").click()

    expect(page.locator(".messages")).to_contain_text("Version 1 is in force again, as version 3")
    assert channel_settings_read().quiet.start.hour == 20
    open_from_nav(page, "Settings history")
    expect(page.locator("table.settings-history tbody tr").first).to_contain_text(
        "rolled back to v1"
    )
    screenshot("settings-history-rolled-back")


def test_manager_reads_the_channel_settings_without_a_save_button(
    page, live_server, log_in, manager
):
    log_in("mona.manager")

    open_from_nav(page, "Channels")

    expect(page.locator("input[name=quiet_hours]")).to_be_disabled()
    assert page.locator("text=Save as a new version").count() == 0
    assert page.locator('nav.mainnav a:text-is("People")').count() == 0


def test_admin_makes_an_agent_a_manager_on_the_people_page(
    page, live_server, log_in, admin_user, agent, screenshot
):
    log_in("ada.admin")

    open_from_nav(page, "People")
    page.locator("table.people tr", has_text="alice.agent").locator("text=Change").click()
    page.check("input[name=roles][value='collections manager']")
    page.uncheck("input[name=roles][value='collections agent']")
    page.fill("input[name=note]", "covers the desk while Mona is away")
    page.click("text=Save as a new version")

    expect(page.locator(".messages")).to_contain_text("Saved as version 1")
    expect(page.locator("table.people tr", has_text="alice.agent")).to_contain_text(
        "collections manager"
    )
    screenshot("people-saved")
    assert set(agent.groups.values_list("name", flat=True)) == {"collections manager"}
