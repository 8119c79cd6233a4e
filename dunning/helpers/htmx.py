"""Answering htmx and plain requests from one view.

A screen renders its whole page, or only its named fragment when htmx asks (``HX-Request``).
Both answers come from the same URL, so every such response says it varies on that header:
a cache must never hand the fragment to a full page load, or the page to htmx.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_screen(request: HttpRequest, *, page: str, fragment: str | None = None,
                  context: dict, status: int = 200) -> HttpResponse:  # fmt: skip
    """``page`` for a full load, ``fragment`` (when given) for htmx; varies on HX-Request."""
    template = fragment if fragment is not None and request.htmx else page
    return vary_on_htmx(render(request, template, context, status=status))
