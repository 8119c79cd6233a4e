"""The queue, the case page and escalation, as people use them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collections_desk.cases import case_claim, case_note_add
from collections_desk.models import Case, CaseState, EscalationTicket
from dunning.models import Transaction
from tests.collections_desk.conftest import case_for

pytestmark = pytest.mark.django_db


def queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("collections_desk:queue")).status_code == 200
    return len(captured)


def test_the_queue_costs_the_same_queries_for_3_cases_as_for_12(
    client, approve_mode, teams, manager
):
    client.force_login(manager)
    for n in range(1, 4):
        case_for(n)
    few = queue_queries(client)
    for n in range(4, 13):
        case_for(n)

    assert queue_queries(client) == few


def test_agent_filters_the_queue_to_their_unassigned_cases(client, approve_mode, teams, agent):
    mine = case_for(1)
    case_for(2)
    case_claim(case=mine, user=agent)
    client.force_login(agent)

    body = client.get(reverse("collections_desk:queue"), {"assignee": "none"}).content.decode()

    assert "cus_2" in body and "cus_1" not in body
    assert "on track" in body  # the SLA badge


def test_a_bad_filter_is_a_400_with_the_reason(client, teams, agent):
    client.force_login(agent)

    response = client.get(reverse("collections_desk:queue"), {"segment": "vip"})

    assert response.status_code == 400
    assert "segment" in response.content.decode()


def test_case_page_shows_the_ai_summary_timeline_and_invoice_link(client, general_case, agent):
    case_note_add(case=general_case, user=agent, text="Left a voicemail")
    client.force_login(agent)

    body = client.get(reverse("collections_desk:case_detail", args=[general_case.pk])).content
    body = body.decode()

    assert (
        "No retry: the issuer asked for the card to be picked up (decline 04)" in body
    )  # the decision's sentence
    assert "Send a payment-method update link" in body  # the recommended next action
    assert "Declined on inv_1" in body and "Left a voicemail" in body  # the timeline
    assert "Send a payment-method update link: proposed" in body
    assert reverse("dunning:invoice_decisions", args=["inv_1"]) in body


def test_a_note_posted_through_htmx_returns_the_notes_fragment(client, general_case, agent):
    client.force_login(agent)

    response = client.post(
        reverse("collections_desk:case_note", args=[general_case.pk]),
        {"text": "Customer will pay Friday"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "Customer will pay Friday" in response.content.decode()


SUMMARY_FIELDS = {
    "case_id",
    "customer_id",
    "team",
    "segment",
    "invoices",
    "amount_due",
    "currency",
    "lifetime_value",
    "recovery_score",
    "attempts",
    "failed_attempts",
    "last_decline_category",
    "why",
    "ai_summary",
    "recommended_actions",
    "opened_at",
    "escalated_by",
    "escalated_at",
    "case_url",
}


class TaskTool(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        TaskTool.received.append(
            {"auth": self.headers.get("Authorization"), "json": json.loads(body)}
        )
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "TASK-42"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def task_tool(settings):
    server = HTTPServer(("127.0.0.1", 0), TaskTool)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ESCALATION_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/tasks"
    settings.ESCALATION_WEBHOOK_TOKEN = "s3cret"
    TaskTool.received = []
    yield TaskTool
    server.shutdown()


def test_escalating_posts_the_case_summary_to_the_task_tool(client, general_case, agent, task_tool):
    client.force_login(agent)

    response = client.post(
        reverse("collections_desk:case_escalate", args=[general_case.pk]), follow=True
    )

    assert "ticket TASK-42" in response.content.decode()
    sent = task_tool.received[0]
    assert sent["auth"] == "Bearer s3cret"
    assert sent["json"]["invoices"] == ["inv_1"]
    assert sent["json"]["failed_attempts"] == Transaction.objects.filter(status="failure").count()
    assert sent["json"]["recommended_actions"] == ["payment_method_link", "payment_method_link"]
    assert set(sent["json"]) == SUMMARY_FIELDS  # as documented in docs/escalation.md
    assert Case.objects.get(pk=general_case.pk).state == CaseState.ESCALATED


def test_without_a_task_tool_the_escalation_is_kept_locally(client, general_case, agent):
    client.force_login(agent)

    client.post(reverse("collections_desk:case_escalate", args=[general_case.pk]))

    ticket = EscalationTicket.objects.get()
    assert (ticket.adapter, ticket.summary["customer_id"]) == ("local", "cus_1")


def test_a_task_tool_that_is_down_keeps_the_escalation_to_send_again(
    client, general_case, agent, settings
):
    settings.ESCALATION_WEBHOOK_URL = "http://127.0.0.1:1/tasks"
    client.force_login(agent)

    response = client.post(
        reverse("collections_desk:case_escalate", args=[general_case.pk]), follow=True
    )

    assert "could not be reached" in response.content.decode()
    ticket = EscalationTicket.objects.get()
    assert (ticket.delivery, ticket.attempts) == ("retrying", 1)
    assert Case.objects.get(pk=general_case.pk).state == CaseState.ESCALATED
