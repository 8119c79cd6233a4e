"""The charts below a page's first screen are drawn only when they come near the viewport
(static/js/charts.js): a test reading one scrolls to it first, as a manager would."""

from __future__ import annotations

from playwright.sync_api import expect

CHARTS = ".chart[data-figure]"


def scroll_to_chart(page, card: str, *, timeout: float = 15_000):
    """The chart of the card ``card`` (e.g. ``#chart-by_gateway``) scrolled into view and
    drawn; returns its locator."""
    chart = page.locator(f"{card} {CHARTS}")
    chart.scroll_into_view_if_needed()
    expect(chart.locator(".main-svg").first).to_be_attached(timeout=timeout)
    return chart


def draw_every_chart(page, *, timeout: float = 15_000) -> None:
    """Scrolls to each chart of the page in turn until it is drawn, then back to where the
    page was (a full-page screenshot shows every chart, as printing does)."""
    charts = page.locator(CHARTS)
    if not charts.count():
        return
    where = page.evaluate("() => [window.scrollX, window.scrollY]")
    for n in range(charts.count()):
        chart = charts.nth(n)
        chart.scroll_into_view_if_needed()
        expect(chart.locator(".main-svg").first).to_be_attached(timeout=timeout)
    page.evaluate("([x, y]) => window.scrollTo(x, y)", where)
