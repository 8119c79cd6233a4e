"""Every page, as each role, says things in words: no codes, reprs or source tags.

The pages are every GET route of every app (walked from the URL configuration), opened with
the data a working desk has; a route the role may not open (403/404) or that only takes a
POST (405) is not a page for that role.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from tests.pages.desk_data import working_desk
from tests.pages.visible_text import code_tokens, visible_text

pytestmark = pytest.mark.django_db

# Each role and the fewest pages it opens (so a walk that opens nothing cannot pass).
ROLES = {"agent": 6, "manager": 15, "admin": 22}
# Not Dunwell's pages: the framework's admin, the queue library's, the webhook, log-out.
SKIPPED_PREFIXES = ("admin/", "django-rq/", "webhooks/", "logout/", "analytics/plotly.css")
# The approval inbox is being rebuilt to show each drafted message itself (issue 16, item 1);
# it joins this test when that lands (it still names the template a message is drafted from).
NOT_YET: tuple[str, ...] = ()


def routes(resolver=None, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        path = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(routes(entry, path))
        else:
            found.append((path, entry))
    return found


def concrete(path: str, desk) -> str | None:
    values = {
        "cases/<int:pk>": f"cases/{desk.case.pk}",
        "events/<int:pk>": f"events/{desk.event.pk}",
        "experiments/<int:pk>": f"experiments/{desk.experiment.pk}",
        "invoices/<str:cb_id>": f"invoices/{desk.invoice_id}",
        "<str:what>": "payment",
    }
    for pattern, value in values.items():
        path = path.replace(pattern, value)
    return None if "<" in path else "/" + path


@pytest.fixture
def desk(db):
    return working_desk()


def pages_of(client, desk) -> list[tuple[str, str]]:
    opened = []
    for path, _ in routes():
        if path.startswith(SKIPPED_PREFIXES):
            continue
        url = concrete(path, desk)
        if url is None or url in NOT_YET:
            continue
        response = client.get(url)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            opened.append((url, response.content.decode()))
    return opened


@pytest.mark.parametrize("role", ROLES)
def test_every_page_speaks_in_words_to_each_role(client, desk, role):
    client.force_login(getattr(desk, role))

    pages = pages_of(client, desk)
    names = frozenset(User.objects.values_list("username", flat=True))
    problems = [
        f"{url}: {kind}: …{where}…"
        for url, html in pages
        for kind, where in code_tokens(visible_text(html), names=names)
    ]

    assert len(pages) >= ROLES[role], [url for url, _ in pages]
    assert not problems, "\n".join(problems)
