"""Opening a page from the top bar's menus, the way a person does: hover a menu, then click
its link; on a phone, open the Menu button first."""

from __future__ import annotations


def open_from_nav(page, label: str) -> None:
    toggle = page.locator("button.menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    link = f'a:text-is("{label}")'
    group = page.locator("nav.mainnav .navgroup").filter(has=page.locator(link))
    if group.count():
        group.first.locator(".navgroup-label").hover()
    page.locator(f"nav.mainnav {link}").first.click()
