"""How many of a list page's filters the address sets: the count on its folded "Filters".

A list page's filters are the visible controls of its filter form, whatever built them (a
Django form, a django-filter set, a dashboard's own selects), so they are read from the form
as rendered: every page gets the same count without each view keeping a list of its names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html.parser import HTMLParser

# Inputs that carry no choice of the person's: a tab or a mode kept across a filter change.
_NOT_FILTERS = {"hidden", "submit", "button", "reset", "image"}


class _FilterNames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if not name or tag not in {"input", "select", "textarea"}:
            return
        if tag == "input" and (attributes.get("type") or "text").lower() in _NOT_FILTERS:
            return
        if name not in self.names:
            self.names.append(name)


def filter_names(form_html: str) -> list[str]:
    """The names of the controls a person sets in ``form_html``, in order."""
    parser = _FilterNames()
    parser.feed(form_html)
    parser.close()
    return parser.names


def filters_set(form_html: str, query: Mapping[str, Sequence[str]]) -> int:
    """How many of ``form_html``'s filters ``query`` (a request's GET) gives a value: the
    filters a shared link carries. An empty value ("any") narrows nothing and is not set."""
    return sum(
        1
        for name in filter_names(form_html)
        if any(value.strip() for value in _values(query, name))
    )


def _values(query: Mapping[str, Sequence[str]], name: str) -> Sequence[str]:
    getlist = getattr(query, "getlist", None)  # a QueryDict holds several values per name
    if getlist is not None:
        return getlist(name)
    value = query.get(name) or ()
    return [value] if isinstance(value, str) else value
