"""Answering htmx and plain requests from one view.

A screen renders its whole page, or only its fragment when htmx asks (``HX-Request``). Both
answers come from the same URL, so every such response says it varies on that header: a
cache must never hand the fragment to a full page load, or the page to htmx.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def htmx_render(
    request: HttpRequest,
    template: str,
    context: dict | None = None,
    *,
    fragment: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """``template`` for a full load, ``fragment`` (when given) for htmx; varies on HX-Request."""
    chosen = fragment if fragment is not None and getattr(request, "htmx", False) else template
    response = render(request, chosen, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return vary_on_htmx(response)
