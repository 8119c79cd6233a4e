"""In a real browser: a manager designs an experiment, fixes a mistake, and starts it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from analytics.models import Experiment
from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_creates_and_starts_an_experiment(page, live_server, log_in, manager, screenshot):
    log_in("mona.manager")

    open_from_nav(page, "Experiments")
    expect(page.locator("h1")).to_have_text("Experiments")
    page.fill("input[name=name]", "Firm tone for self-serve")
    page.fill("textarea[name=hypothesis]", "A firm first email gets cards fixed sooner.")
    page.select_option("select[name=segment]", "self_serve")
    page.fill("input[name=baseline_rate]", "30")
    page.fill("input[name=minimum_effect]", "10")
    page.fill("input[name=form-1-key]", "firm")
    page.fill("input[name=form-1-label]", "Firm tone")
    page.select_option("select[name=form-1-tone]", "firm")
    page.uncheck("input[name=form-0-is_control]")  # a mistake: no control
    page.click("text=Save as draft")

    expect(page.locator(".form-errors")).to_contain_text("Mark exactly one variant as the control")
    page.check("input[name=form-0-is_control]")
    page.click("text=Save as draft")

    expect(page.locator("#experiment-status")).to_have_text("Draft")
    expect(page.locator("body")).to_contain_text("planned 356 outcomes per variant")
    page.click("button:text-is('Start')")
    expect(page.locator("#experiment-status")).to_have_text("Running")
    expect(page.locator("#verdict")).to_contain_text("Not conclusive yet")
    expect(page.locator("body")).to_contain_text("Results accrue as new failures arrive")
    screenshot("experiment-running")
    experiment = Experiment.objects.get(name="Firm tone for self-serve")
    assert experiment.status == "running" and experiment.segment == "self_serve"
    assert experiment.variants.get(key="firm").params == {"tone": "firm"}
