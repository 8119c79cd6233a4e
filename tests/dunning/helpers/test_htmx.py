"""One URL answers a full page load with the page and htmx with its fragment."""

from __future__ import annotations

from django.urls import reverse


def test_the_event_log_gives_htmx_its_table_and_a_browser_the_page(admin_client):
    url = reverse("dunning:event_list")

    page = admin_client.get(url)
    fragment = admin_client.get(url, headers={"HX-Request": "true"})

    assert b"<html" in page.content
    assert b"<html" not in fragment.content
    for response in (page, fragment):
        assert response.status_code == 200
        assert "HX-Request" in response["Vary"]  # a cache never swaps the two
