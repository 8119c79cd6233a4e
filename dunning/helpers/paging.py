"""One page of a list, and the query string that keeps its filters on the next page."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def page_of(
    request: HttpRequest, items, *, size: int, param: str = "page", count: int | None = None
) -> tuple[Page, str]:
    """``count``: how many ``items`` hold, when the caller counted them already."""
    paginator = Paginator(items, size)
    if count is not None:
        paginator.count = count  # a cached property: no second COUNT query
    page = paginator.get_page(request.GET.get(param))
    query = request.GET.copy()
    query.pop(param, None)
    return page, query.urlencode()
