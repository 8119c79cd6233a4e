"""An agent of one team asks, directly, for every page and export that shows another team's
customers: each answers 404 or leaves them out; their own team's agent sees them."""

from __future__ import annotations

import io
import json

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from collections_desk.models import Team
from collections_desk.teams import team_create, team_member_add
from dunning.decisions.policy_settings.guardrails import guardrails_update
from tests.collections_desk.conftest import case_for
from tests.collections_desk.test_permission_matrix import _message_to
from tests.faults.scenarios.core import Env, Row, person, timed

FIRST_CASE = 7000  # inv_7000, cus_7000, ...: clear of the other scenarios' numbers
LISTS = ("dunning:decision_list", "dunning:outbox")


def _team(name: str, **kwargs) -> Team:
    return Team.objects.filter(name=name).first() or team_create(name=name, **kwargs)


def _member(username: str, team: Team):
    user = person(username, role="collections agent")
    team_member_add(team=team, user=user)
    return user


def _listed(client: Client, url_name: str, links: set[str], *, htmx: bool) -> int:
    """How many of ``links`` the list shows, over all its pages."""
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    seen, page = set(), 1
    while page < 500:
        text = client.get(reverse(url_name), {"page": page}, **headers).content.decode()
        seen |= {link for link in links if link in text}
        page += 1
        if f"page={page}" not in text:  # no "Older" link: the last page
            break
    return len(seen)


def _exported(username: str) -> set[str]:
    out = io.StringIO()
    call_command(
        "export_decisions",
        "--since",
        "2000-01-01",
        "--as-user",
        username,
        stdout=out,
        stderr=io.StringIO(),
    )
    return {json.loads(line)["customer_id"] for line in out.getvalue().splitlines()}


@timed
def team_scoping(env: Env) -> Row:
    count = env.n(test=2, bench=50)
    row = Row(
        name="another team's customers asked for directly",
        injected=f"an enterprise-team agent asks for each of {count} self-serve customers' "
        "case page, invoice decisions page and partial; the decisions list and outbox (pages "
        "and partials, every page); export_decisions --as-user",
        expected="every page 404; lists and export leave them out; the self-serve agent sees "
        "each of them",
    )
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="fault suite")
    enterprise = _team("Enterprise", segments=["enterprise"], routing_order=10)
    general = _team("Self-serve & growth")
    outsider = _member("fault.enterprise", enterprise)
    insider = _member("fault.selfserve", general)
    cases = [case_for(FIRST_CASE + n) for n in range(count)]
    for case in cases:
        _message_to(case)
    invoices = [case.invoices.first().cb_id for case in cases]
    links = {f"/dunning/invoices/{invoice}/decisions/" for invoice in invoices}
    customers = {case.customer_id for case in cases}

    def answers(user) -> tuple[list[int], int, int]:
        client = Client()
        client.force_login(user)
        statuses = []
        for case, invoice in zip(cases, invoices, strict=True):
            statuses.append(
                client.get(reverse("collections_desk:case_detail", args=[case.pk])).status_code
            )
            page = reverse("dunning:invoice_decisions", args=[invoice])
            statuses.append(client.get(page).status_code)
            statuses.append(client.get(page, HTTP_HX_REQUEST="true").status_code)
        listed = sum(
            _listed(client, name, links, htmx=htmx) for name in LISTS for htmx in (False, True)
        )
        exported = len(_exported(user.username) & customers)
        return statuses, listed, exported

    statuses, listed, exported = answers(outsider)
    own_statuses, own_listed, own_exported = answers(insider)
    pages_leaked = sum(1 for status in statuses if status != 404)
    row.other_zeros = {"answers that leak": pages_leaked + listed + exported}
    row.behaved = (
        set(own_statuses) == {200}
        and own_listed == 2 * len(LISTS) * count
        and own_exported == count
    )
    row.happened = (
        f"{statuses.count(404)}/{len(statuses)} pages answered 404 to the other team's agent; "
        f"{listed} of the customers in its lists (over every page), {exported} in its export; "
        f"their own agent: {own_statuses.count(200)}/{len(own_statuses)} pages 200, "
        f"{own_listed}/{2 * len(LISTS) * count} list entries, {own_exported}/{count} exported"
    )
    return row
