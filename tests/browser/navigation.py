"""Opening a page from the top bar's menus, the way a person does (hover, then click)."""

from __future__ import annotations


def open_from_nav(page, label: str) -> None:
    link = f'a:text-is("{label}")'
    group = page.locator("nav.mainnav .navgroup").filter(has=page.locator(link))
    if group.count():
        group.first.locator(".navgroup-label").hover()
    page.locator(f"nav.mainnav {link}").first.click()
