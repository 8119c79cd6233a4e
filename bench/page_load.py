"""Page-load benchmark: how long a chart page takes to be fully drawn in a real browser.

The server's time is only part of what a manager waits for: the browser also fetches the
stylesheet, the plotly bundle and the page's figures, then draws every chart. This bench
opens each page in Debian's chromium (Playwright, headless) against a running Dunwell —
by default the demo (`make demo`, http://127.0.0.1:8000) — logged in as a manager, and
prints per page, over --runs runs:

- server: the navigation's responseStart (request sent -> first byte of the page);
- loaded: the window's load event (every script, style and image fetched and run);
- first screen: until the load event and every chart container on the first screen
  (1440 x 900, not scrolled) holding a drawn plotly figure, whichever is later — what
  the manager sees without scrolling;
- all, scrolled: then the bench pages down a screen at a time, each time waiting for the
  charts on that screen, to the bottom: until every chart of the page is drawn, for a
  reader who scrolls straight through (the charts below the first screen are drawn only
  when they come near the viewport, static/js/charts.js).

All count from the navigation's start, in the page's own clock (a chart is drawn when its
first SVG appears), so the bench's round trips to the browser are not counted. "cold"
opens each run in a new browser context (empty HTTP cache: the plotly bundle is fetched
again), "warm" reloads in the same context (the hashed static files come from the
cache, as they would for a manager who opened the page before). Target (issue "Speed",
item 4): the recovery page fully loaded in under 1 s on loopback.

Run from the repository root, with the demo running in another terminal:

    .venv/bin/python bench/page_load.py [--url http://127.0.0.1:8000] [--runs 10]

Measured 2026-12-03, see docs/figures.md ("Pages in the browser").
"""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
PAGES = (
    "/analytics/recovery/",
    "/analytics/recovery/?period=365",
    "/analytics/cohorts/",
    "/analytics/forecast/",
    "/analytics/impact/",
    "/collections/",
)
# Notes when each chart's figure appears (its first SVG), in the page's own clock.
DRAWN_AT = """
window.chartsDrawnAt = new Map();
new MutationObserver(() => {
  for (const chart of document.querySelectorAll('.chart[data-figure]')) {
    if (!window.chartsDrawnAt.has(chart) && chart.querySelector('.main-svg')) {
      window.chartsDrawnAt.set(chart, performance.now());
    }
  }
}).observe(document, {subtree: true, childList: true});
"""
# Once every chart container on the current screen (all of them with everywhere=true)
# holds a drawn figure: when the last of them was drawn, or the load event if later.
DRAWN = """(everywhere) => {
  const onScreen = chart => {
    const box = chart.getBoundingClientRect();
    return everywhere || (box.bottom > 0 && box.top < window.innerHeight);
  };
  const charts = [...document.querySelectorAll('.chart[data-figure]')].filter(onScreen);
  if (!charts.every(chart => window.chartsDrawnAt.has(chart))) return false;
  const [nav] = performance.getEntriesByType('navigation');
  return Math.max(nav.loadEventEnd, ...charts.map(chart => window.chartsDrawnAt.get(chart)));
}"""
# One screen down; true once the bottom of the page is on screen.
PAGE_DOWN = """() => {
  window.scrollBy(0, window.innerHeight);
  return window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1;
}"""
NAVIGATION = """() => {
  const [nav] = performance.getEntriesByType('navigation');
  return {server: nav.responseStart - nav.requestStart, loaded: nav.loadEventEnd};
}"""


@dataclass(frozen=True)
class Timing:
    server: float
    loaded: float
    first_screen: float
    all_drawn: float


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def logged_in(browser: Browser, *, url: str, username: str, password: str) -> dict:
    """The session cookie of ``username``, to start every cold context logged in."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    state = context.storage_state()
    context.close()
    return state


def timed_load(page: Page, address: str, *, reload: bool) -> Timing:
    """Times from the navigation's start (performance.now() counts from it), taken in the
    page, so the bench's own round trips and polling are not counted."""
    if reload:
        # The reload would restore the scrolled-to bottom, and its charts drawn first.
        page.evaluate("() => window.scrollTo(0, 0)")
        page.reload(wait_until="load")
    else:
        page.goto(address, wait_until="load")
    first_screen = page.wait_for_function(DRAWN, arg=False, timeout=30_000).json_value()
    at_bottom = False
    while not at_bottom:
        at_bottom = page.evaluate(PAGE_DOWN)
        page.wait_for_function(DRAWN, arg=False, timeout=30_000)
    all_drawn = page.wait_for_function(DRAWN, arg=True, timeout=30_000).json_value()
    navigation = page.evaluate(NAVIGATION)
    return Timing(
        server=navigation["server"],
        loaded=navigation["loaded"],
        first_screen=first_screen,
        all_drawn=all_drawn,
    )


def measure(browser: Browser, state: dict, address: str, *, runs: int) -> dict[str, list[Timing]]:
    cold: list[Timing] = []
    for _ in range(runs):
        context: BrowserContext = browser.new_context(
            storage_state=state, viewport={"width": 1440, "height": 900}
        )
        page = context.new_page()
        page.add_init_script(DRAWN_AT)
        cold.append(timed_load(page, address, reload=False))
        context.close()
    context = browser.new_context(storage_state=state, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.add_init_script(DRAWN_AT)
    timed_load(page, address, reload=False)
    warm = [timed_load(page, address, reload=True) for _ in range(runs)]
    context.close()
    return {"cold": cold, "warm": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="manager")
    parser.add_argument("--password", default="dunwell-demo")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    args = parser.parse_args()

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    print(f"{args.url} as {args.username}, {args.runs} runs; ms, p50 / p99")
    parts = ("server", "loaded", "first_screen", "all_drawn")
    heads = ("server", "loaded", "first screen", "all, scrolled")
    print(f"{'page':34} {'':5} " + " ".join(f"{head:>13}" for head in heads))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        state = logged_in(browser, url=args.url, username=args.username, password=args.password)
        for path in args.pages:
            for kind, timings in measure(browser, state, args.url + path, runs=args.runs).items():
                cells = []
                for part in parts:
                    values = [getattr(timing, part) for timing in timings]
                    p50, p99 = statistics.median(values), percentile(values, 0.99)
                    cells.append(f"{p50:6.0f} / {p99:4.0f}")
                print(f"{path:34} {kind:5} " + " ".join(f"{cell:>13}" for cell in cells))
        browser.close()


if __name__ == "__main__":
    main()
