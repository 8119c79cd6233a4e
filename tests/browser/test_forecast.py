"""In a real browser: a manager opens the Forecast from the top bar; figures and charts draw."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.analytics.forecast_data import hard_decline_history, three_open_invoices
from tests.analytics.mirror import days_ago, failed_invoice
from tests.browser.navigation import open_from_nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_and_past_invoices():
    hard_decline_history(days=90)
    for n in range(10, 20):  # failures of the past two months, half of them recovered
        failed_invoice(
            n,
            failed_at=days_ago(30 + 3 * n - 30),
            amount=5_000,
            paid_after=timedelta(days=2) if n % 2 else None,
            ended="" if n % 2 else "not_paid",
        )
    three_open_invoices()
    call_command("forecast_backfill", days=60, stdout=io.StringIO())


def test_manager_opens_the_forecast_and_sees_the_figures_and_the_chart(
    page, live_server, log_in, manager, screenshot, open_and_past_invoices
):
    log_in("mona.manager")

    open_from_nav(page, "Forecast")

    expect(page.locator("h1")).to_have_text("Forecast")
    # The open invoices' expected recovery (the past failures move the fallback rate a bit).
    expect(page.locator("[data-figure-name=expected]")).to_have_text(re.compile(r"USD 19\d\.\d\d"))
    expect(page.locator("[data-figure-name=at_stake]")).to_have_text("USD 350.00")
    expect(page.locator("[data-figure-name=interval80]")).to_contain_text("\u2013")
    expect(page.locator("#chart-forecast_vs_actual .main-svg").first).to_be_visible(timeout=15_000)
    expect(page.locator("#chart-forecast_by_category .main-svg").first).to_be_visible()
    expect(page.locator("[data-figure-name=coverage80]")).to_contain_text("%")
    screenshot("forecast")
