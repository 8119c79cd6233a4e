"""In a real browser: a manager opens the recovery dashboard and the cohorts; charts draw."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.analytics.mirror import cancelled_subscription, days_ago, failed_invoice
from tests.browser.charts import scroll_to_chart
from tests.browser.navigation import open_from_nav

# Collects what the Content-Security-Policy refused, with the start of the refused text.
VIOLATIONS_SCRIPT = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push({directive: e.violatedDirective, sample: e.sample || ""});
});
"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def a_quarter_of_failures():
    """Sixty failed invoices over 90 days: gateways, categories, plans, countries, outcomes."""
    for n in range(60):
        outcome = n % 5
        failed_invoice(
            n,
            failed_at=days_ago(2 + n * 1.4),
            amount=2_900 + 1_000 * (n % 7),
            paid_after=timedelta(days=(n % 9) + 0.3) if outcome < 3 else None,
            ended="not_paid" if outcome == 4 else "",
            new_card=n % 4 == 0,
            gateway=("stripe", "adyen", "braintree")[n % 3],
            category=("soft_decline", "hard_decline", "gateway_error")[n % 3 and n % 2],
            plan=("pro-monthly", "business-annual")[n % 2],
            country=("DE", "US", "FR", "GB")[n % 4],
        )
        if outcome == 4:
            cancelled_subscription(n, at=days_ago(n * 1.4), reason="not_paid")


def test_manager_sees_the_recovery_charts_draw_and_filters_them(
    page, live_server, log_in, manager, screenshot, a_quarter_of_failures
):
    page.add_init_script(VIOLATIONS_SCRIPT)
    log_in("mona.manager")

    open_from_nav(page, "Recovery")

    # The charts are screens below the figures and tables: each is drawn once scrolled to,
    # the first (over time) before the last (churn).
    expect(page.locator(".tile").first).to_contain_text("USD")
    first = page.locator("#chart-over_time .chart")
    assert first.evaluate("chart => chart.getBoundingClientRect().top") > 2 * 900
    page.wait_for_timeout(500)
    expect(page.locator(".chart .main-svg")).to_have_count(0)
    scroll_to_chart(page, "#chart-over_time")
    expect(page.locator("#chart-churn .main-svg")).to_have_count(0)
    scroll_to_chart(page, "#chart-churn")
    screenshot("recovery-dashboard")  # scrolls through the rest
    assert page.locator(".chart .main-svg").count() >= 9 * 2  # every chart drew its SVG

    page.evaluate("window.scrollTo(0, 0)")
    page.select_option("select[name=gateway]", "adyen")
    expect(page).to_have_url(re.compile(r"gateway=adyen"))
    # The swapped-in fragment's charts draw too, when scrolled to.
    scroll_to_chart(page, "#chart-by_gateway")
    expect(page.locator("#chart-by_gateway .xtick")).to_have_count(1)
    expect(page.locator("#chart-by_gateway")).to_contain_text("Adyen")
    violations = page.evaluate("window.cspViolations")
    assert violations == [], violations


def test_printing_the_recovery_page_draws_every_chart(
    page, live_server, log_in, manager, a_quarter_of_failures
):
    log_in("mona.manager")
    open_from_nav(page, "Recovery")
    scroll_to_chart(page, "#chart-over_time")
    expect(page.locator("#chart-churn .main-svg")).to_have_count(0)

    page.pdf()

    undrawn = page.locator(".chart[data-figure]").filter(has_not=page.locator(".main-svg"))
    expect(undrawn).to_have_count(0)


def test_manager_clicks_a_bar_and_reads_the_invoices_behind_it(
    page, live_server, log_in, manager, screenshot, a_quarter_of_failures
):
    page.add_init_script(VIOLATIONS_SCRIPT)
    log_in("mona.manager")
    open_from_nav(page, "Recovery")
    scroll_to_chart(page, "#chart-by_gateway")
    bar = page.locator("#chart-by_gateway .trace.bars .point path").first
    expect(bar).to_be_visible()

    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    expect(page).to_have_url(re.compile(r"/analytics/recovery/invoices/\?.*by=gateway"))
    expect(page.locator("h1")).to_have_text("Failed invoices")
    expect(page.locator("#recovery-invoices")).to_contain_text("Gateway: ")
    expect(page.locator("#recovery-invoices tbody tr").first).to_be_visible()
    screenshot("recovery-invoices-behind-a-bar")
    violations = page.evaluate("window.cspViolations")
    assert violations == [], violations


def test_manager_reads_the_cohort_heatmap_and_curves(
    page, live_server, log_in, manager, screenshot, a_quarter_of_failures
):
    log_in("mona.manager")

    open_from_nav(page, "Cohorts")

    # Both charts are on the first screen: drawn on load, without scrolling.
    expect(page.locator("#chart-cohorts_by_failure .heatmaplayer").first).to_be_attached(
        timeout=15_000
    )
    expect(page.locator("#chart-cohorts_by_failure_curves .scatterlayer")).to_be_attached()
    assert page.evaluate("window.scrollY") == 0
    screenshot("cohorts")
    page.click("text=signup month")
    expect(page.locator("#chart-cohorts_by_signup .main-svg").first).to_be_visible()
