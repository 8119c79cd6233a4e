"""In a real browser, as each role, at a desktop width and a phone's: no page is wider than
the window, and on the phone the top bar folds into a menu that opens and reaches log-out,
a list's filters fold under "Filters" so that its first rows are in the first screen, and its
table turns into one labelled card per row that never scrolls sideways.

Screenshots of every page at both widths go to ``var/screenshots/layout`` (or
``$DUNWELL_SHOTS``), to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import Customer
from tests.browser.conftest import SCREENSHOTS
from tests.pages.desk_data import working_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1440, "phone": 390}
ROLES = {"agent": "alice.agent", "manager": "mona.manager", "admin": "ada.admin"}
SHOTS = Path(os.getenv("DUNWELL_SHOTS") or SCREENSHOTS / "layout")


@pytest.fixture
def desk(transactional_db):
    guardrails_active()  # a transactional test flushed the migration's first version
    desk = working_desk()
    # A long address with no place to break must wrap, not widen the case page on a phone.
    Customer.objects.filter(cb_id=desk.case.customer_id).update(
        email="sasha.holt.offline.payments.department21@example.com"
    )
    return desk


def logged_in(browser, live_server, username: str, *, width: int):
    """A browser window ``width`` pixels wide, logged in as ``username``."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def menu_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("nav.mainnav a", "links => links.map(a => a.pathname)")
    return list(dict.fromkeys(h for h in hrefs if not h.startswith(("/admin", "/django-rq"))))


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def tables_too_wide(page) -> list[str]:
    """The tables that scroll sideways or are wider than the box they sit in."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table')].filter(t => t.offsetParent !== null)
            .filter(t => t.scrollWidth > t.clientWidth + 1
                      || t.getBoundingClientRect().width > t.parentElement.clientWidth + 1)
            .map(t => (t.className || t.id || 'a table') + ': ' + t.scrollWidth + ' px wide in '
                      + t.parentElement.clientWidth + ' px')"""
    )


def labels_off_their_column(page) -> list[str]:
    """Record cells whose label (shown beside the value on a phone) is not their column's."""
    return page.evaluate(
        """() => [...document.querySelectorAll('table.records')].flatMap(table => {
            const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
            return [...table.querySelectorAll('tbody tr')].flatMap(row =>
                [...row.children].map((cell, i) => [cell, heads[i]])
                    .filter(([cell, head]) => cell.dataset.label !== undefined
                                             && cell.dataset.label !== head)
                    .map(([cell, head]) => `${cell.dataset.label} under ${head}`));
        })"""
    )


def deeper_pages(desk, role: str) -> list[str]:
    """The pages one click further in than the menus: a case, an invoice, an experiment."""
    pages = [
        f"/collections/cases/{desk.case.pk}/",
        f"/dunning/invoices/{desk.invoice_id}/decisions/",
        "/analytics/recovery/invoices/?by=decline_code&value=51",
    ]
    if role != "agent":
        pages.append(f"/analytics/experiments/{desk.experiment.pk}/")
    return pages


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "overview"


@pytest.mark.parametrize("role", ROLES)
def test_every_main_page_fits_the_window_at_desktop_and_phone_widths(
    browser, live_server, desk, role
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = []
    for name, width in WIDTHS.items():
        context, page = logged_in(browser, live_server, ROLES[role], width=width)
        for path in [*menu_links(page), *deeper_pages(desk, role)]:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SHOTS / f"{role}-{width}-{slug(path)}.png"), full_page=True)
            if (extra_px := overflow(page)) > 0:
                too_wide.append(f"{path} at {width} px: {extra_px} px too wide")
            too_wide += [f"{path}: the label {cell}" for cell in labels_off_their_column(page)]
        context.close()

    assert not too_wide, "\n".join(too_wide)


@pytest.mark.parametrize("role", ROLES)
def test_on_a_phone_the_menu_opens_and_log_out_is_in_reach(browser, live_server, desk, role):
    context, page = logged_in(browser, live_server, ROLES[role], width=390)

    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()  # folded away with the navigation
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("nav.mainnav a", has_text="Queue").first).to_be_visible()
    log_out.scroll_into_view_if_needed()
    expect(log_out).to_be_visible()
    log_out.click()
    page.wait_for_url(re.compile(r"/login/"))
    context.close()


# A list, the filter that narrows it, one value it refuses, and the first row's link to open.
LISTS = {
    "queue": ("/collections/", "segment", "enterprise", "state=bogus", "table.queue"),
    "decisions": ("/dunning/decisions/", "mode", "shadow", "mode=bogus", "table.decisions"),
    "event log": ("/dunning/events/", "state", "processed", "state=bogus", "table.events"),
}


@pytest.mark.parametrize("screen", LISTS)
def test_on_a_phone_a_list_opens_on_its_first_rows_with_its_filters_folded(
    browser, live_server, desk, screen
):
    path, name, value, refused, table = LISTS[screen]
    context, page = logged_in(browser, live_server, "ada.admin", width=390)
    page.goto(f"{live_server.url}{path}")

    filters = page.locator("details.filters")
    control = filters.locator(f"[name={name}]")
    expect(filters.locator("summary")).to_have_text("Filters")
    expect(control).to_be_hidden()
    first_row = page.locator(f"{table} tbody tr").first
    expect(first_row.locator("td.primary a")).to_be_in_viewport(ratio=1)  # the 900 px screen
    cells = first_row.locator("td[data-label]:visible")
    label = cells.first.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == f'"{cells.first.get_attribute("data-label")}"', "each cell names its column"
    assert not tables_too_wide(page)
    page.screenshot(path=str(SHOTS / f"phone-{slug(screen)}-folded.png"))

    filters.locator("summary").click()
    expect(control).to_be_visible()
    expect(page.locator(f"{table} tbody tr").first).to_be_visible()

    page.goto(f"{live_server.url}{path}?{name}={value}")
    expect(filters.locator("summary")).to_have_text("Filters · 1 set")

    response = page.goto(f"{live_server.url}{path}?{refused}")
    assert response.status == 400
    expect(filters).to_have_attribute("open", "")
    expect(control).to_be_visible()
    expect(page.locator("p.error")).to_contain_text("valid choice")
    page.screenshot(path=str(SHOTS / f"phone-{slug(screen)}-refused.png"), full_page=True)
    context.close()


@pytest.mark.parametrize("screen", LISTS)
def test_on_a_desktop_a_lists_filters_are_shown_without_a_click(browser, live_server, desk, screen):
    path, name, _, _, table = LISTS[screen]
    context, page = logged_in(browser, live_server, "ada.admin", width=1440)
    page.goto(f"{live_server.url}{path}")

    expect(page.locator(f"details.filters [name={name}]")).to_be_visible()
    expect(page.get_by_text("Filters", exact=True)).to_be_hidden()
    expect(page.locator(f"{table} thead th").first).to_be_visible()  # a table, not cards
    context.close()


def test_on_a_phone_the_folded_filters_count_a_filter_chosen_without_a_reload(
    browser, live_server, desk
):
    context, page = logged_in(browser, live_server, "ada.admin", width=390)
    page.goto(f"{live_server.url}/dunning/settings/history/")
    summary = page.locator("details.filters summary")
    expect(summary).to_have_text("Filters")

    summary.click()
    page.select_option("details.filters select[name=what]", "guardrails")  # htmx, no reload
    page.wait_for_url("**what=guardrails**")

    expect(summary).to_have_text("Filters · 1 set")
    context.close()
