"""Every role x every desk page, htmx partial and POST, asked directly (not through links).

Outcomes: "ok" (200, or a redirect that is not to the login page), "login" (anonymous: to
the login page), 403 (the role may not do this at all), 404 (another team's case or action:
its existence is not revealed).
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from dunning.actions.state_machine import action_fingerprint
from dunning.models import OutboundMessage
from tests.collections_desk.test_approvals import link_of

pytestmark = pytest.mark.django_db

PERSONAS = ("agent", "other_agent", "manager", "admin_user", "anonymous")


def _row(agent, other, manager, admin):
    return dict(zip(PERSONAS, (agent, other, manager, admin, "login"), strict=True))


SAME_TEAM_ONLY = _row("ok", 404, "ok", "ok")
EVERY_ROLE = _row("ok", "ok", "ok", "ok")
# (name, method, url name, takes the case or the action, form data, htmx)
REQUESTS = [
    ("queue", "get", "queue", None, None, False, EVERY_ROLE),
    ("queue partial", "get", "queue", None, None, True, EVERY_ROLE),
    ("queue bulk claim", "post", "queue_bulk", None, "bulk", False, EVERY_ROLE),
    ("case page", "get", "case_detail", "case", None, False, SAME_TEAM_ONLY),
    ("case timeline partial", "get", "case_detail", "case", "timeline", True, SAME_TEAM_ONLY),
    ("claim", "post", "case_claim", "case", {}, False, SAME_TEAM_ONLY),
    ("assign", "post", "case_assign", "case", "assign", False, _row(403, 403, "ok", "ok")),
    ("note", "post", "case_note", "case", {"text": "called"}, False, SAME_TEAM_ONLY),
    ("note partial", "post", "case_note", "case", {"text": "called"}, True, SAME_TEAM_ONLY),
    ("escalate", "post", "case_escalate", "case", {}, False, SAME_TEAM_ONLY),
    ("record payment", "post", "case_record_payment", "case", "record", False, SAME_TEAM_ONLY),
    ("inbox", "get", "inbox", None, None, False, EVERY_ROLE),
    ("inbox partial", "get", "inbox", None, None, True, EVERY_ROLE),
    ("approve", "post", "action_approve", "action", "fingerprint", False, SAME_TEAM_ONLY),
    ("approve partial", "post", "action_approve", "action", "fingerprint", True, SAME_TEAM_ONLY),
    ("reject", "post", "action_reject", "action", {"reason": "no"}, True, SAME_TEAM_ONLY),
    ("edit", "post", "action_edit", "action", "edit", True, SAME_TEAM_ONLY),
    ("bulk approve count", "get", "inbox_bulk_approve", None, None, False, EVERY_ROLE),
    ("bulk approve", "post", "inbox_bulk_approve", None, "bulk_approve", False, EVERY_ROLE),
]
GUARDRAILS = _row(403, 403, "ok", "ok")


def outcome(response) -> str | int:
    if response.status_code == 302:
        return "login" if response["Location"].startswith("/login/") else "ok"
    return "ok" if response.status_code == 200 else response.status_code


def _data(kind, *, case, action, agent):
    fingerprint = action_fingerprint(action)
    return (
        {
            "bulk": {"cases": [case.pk], "operation": "claim"},
            "timeline": {"part": "timeline"},
            "assign": {"assignee": agent.username},
            "fingerprint": {"fingerprint": fingerprint},
            "edit": {"fingerprint": fingerprint, "text": "Hello", "channel": "email"},
            "bulk_approve": {
                "approve": [f"{action.pk}:{fingerprint}"],
                "count": 1,
                "reason": "checked together",
                "confirm": "yes",
            },
            "record": {
                "invoice": case.invoices.first().cb_id,
                "amount": "1.00",
                "paid_on": "2026-11-20",
                "method": "check",
            },
        }.get(kind, kind)
        if isinstance(kind, str)
        else kind
    )


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("method", "url_name", "target", "data", "htmx", "expected"),
    [pytest.param(*r[1:], id=r[0]) for r in REQUESTS],
)
def test_permission_matrix(
    request,
    client,
    general_case,
    agent,
    other_agent,
    persona,
    method,
    url_name,
    target,
    data,
    htmx,
    expected,
):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    action = link_of(general_case)
    args = {"case": [general_case.pk], "action": [action.pk], None: []}[target]
    url = reverse(f"collections_desk:{url_name}", args=args)
    payload = _data(data, case=general_case, action=action, agent=agent) or {}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = getattr(client, method)(url, payload, **headers)

    assert outcome(response) == expected[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_managers_and_admins_open_the_guardrails_page(request, client, teams, persona):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))

    assert outcome(client.get(reverse("dunning:guardrails"))) == GUARDRAILS[persona]


def test_other_teams_agent_sees_neither_the_case_in_the_queue_nor_its_action_in_the_inbox(
    client, general_case, other_agent
):
    client.force_login(other_agent)

    queue = client.get(reverse("collections_desk:queue")).content.decode()
    inbox = client.get(reverse("collections_desk:inbox")).content.decode()

    assert general_case.customer.display_name not in queue
    assert f"action-{link_of(general_case).pk}" not in inbox


# Dunning's pages and exports that show a customer: the same team rule as the case.
LISTED_FOR_SAME_TEAM = _row("listed", "hidden", "listed", "listed")
CUSTOMER_PAGES = [
    ("invoice decisions page", "dunning:invoice_decisions", True, False, SAME_TEAM_ONLY),
    ("invoice decisions partial", "dunning:invoice_decisions", True, True, SAME_TEAM_ONLY),
    ("decisions list", "dunning:decision_list", False, False, LISTED_FOR_SAME_TEAM),
    ("decisions list partial", "dunning:decision_list", False, True, LISTED_FOR_SAME_TEAM),
    ("outbox", "dunning:outbox", False, False, LISTED_FOR_SAME_TEAM),
    ("outbox partial", "dunning:outbox", False, True, LISTED_FOR_SAME_TEAM),
]


def _message_to(case) -> OutboundMessage:
    invoice = case.invoices.first()
    return OutboundMessage.objects.create(
        customer_id=case.customer_id,
        invoice=invoice,
        channel="email",
        purpose="payment_method_update",
        recipient="ana@x.test",
        body="Please update your card",
        status=OutboundMessage.Status.SENT,
        drafter="builtin",
    )


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("url_name", "takes_invoice", "htmx", "expected"),
    [pytest.param(*r[1:], id=r[0]) for r in CUSTOMER_PAGES],
)
def test_pages_showing_a_customer_follow_the_case_team(
    request, client, general_case, persona, url_name, takes_invoice, htmx, expected
):
    _message_to(general_case)
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    invoice_id = general_case.invoices.first().cb_id
    url = reverse(url_name, args=[invoice_id] if takes_invoice else [])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = client.get(url, **headers)

    seen = outcome(response)
    if not takes_invoice and seen == "ok":
        listed = f"/dunning/invoices/{invoice_id}/decisions/" in response.content.decode()
        seen = "listed" if listed else "hidden"
    assert seen == expected[persona]


@pytest.mark.parametrize("persona", ["agent", "other_agent", "manager"])
def test_the_decisions_export_as_a_person_holds_only_their_reach(request, general_case, persona):
    user = request.getfixturevalue(persona)
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "export_decisions",
        "--since",
        "2000-01-01",
        "--as-user",
        user.username,
        stdout=out,
        stderr=err,
    )

    customers = {json.loads(line)["customer_id"] for line in out.getvalue().splitlines()}
    expected = set() if persona == "other_agent" else {general_case.customer_id}
    assert customers == expected
