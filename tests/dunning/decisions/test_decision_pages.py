"""Who may open which decision page, and what the pages show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dunning.actions.state_machine import action_reject
from dunning.decisions.policy_settings.guardrails import guardrails_active, guardrails_update
from dunning.models import Action, AuditEntry, GuardrailPolicy
from tests.dunning.decided import FAILED_AT, decided_invoice

pytestmark = pytest.mark.django_db

GUARDRAILS = reverse("dunning:guardrails")
DECISIONS = reverse("dunning:decision_list")


def invoice_page(cb_id: str = "inv_1") -> str:
    return reverse("dunning:invoice_decisions", args=[cb_id])


def rollback(version: int = 1) -> str:
    return reverse("dunning:guardrails_rollback", args=[version])


# --- the permission matrix ------------------------------------------------------------
PAGES = ["guardrails", "decisions", "invoice"]
EXPECTED_GET = {  # persona -> status per page
    "agent": {"guardrails": 403, "decisions": 200, "invoice": 200},
    "manager": {"guardrails": 200, "decisions": 200, "invoice": 200},
    "admin_user": {"guardrails": 200, "decisions": 200, "invoice": 200},
}


def url_of(page: str) -> str:
    return {"guardrails": GUARDRAILS, "decisions": DECISIONS, "invoice": invoice_page()}[page]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", list(EXPECTED_GET))
def test_each_role_opens_only_the_decision_pages_it_may(client, request, persona, page):
    decided_invoice()
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url_of(page)).status_code == EXPECTED_GET[persona][page]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitor_is_sent_to_log_in(client, page):
    decided_invoice()
    response = client.get(url_of(page))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["agent", "manager"])
def test_agents_and_managers_cannot_edit_guardrails_or_roll_them_back(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    guardrails_update(changes={"contacts_per_week": 5}, user=None, note="before")

    assert client.post(GUARDRAILS, {"default_mode": "auto", "note": "x"}).status_code == 403
    assert client.post(rollback()).status_code == 403
    assert GuardrailPolicy.objects.count() == 2
    assert guardrails_active().default_mode == "shadow"


def test_anonymous_post_to_guardrails_changes_nothing(client):
    assert client.post(GUARDRAILS, {"default_mode": "auto"}).status_code == 302
    assert client.post(rollback()).status_code == 302
    assert GuardrailPolicy.objects.count() == 1


def test_rollback_needs_a_post(client, admin_user):
    client.force_login(admin_user)
    assert client.get(rollback()).status_code == 405


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("agent", {"Decisions"}),
        ("manager", {"Decisions", "Guardrails"}),
        ("admin_user", {"Decisions", "Guardrails"}),
    ],
)
def test_navigation_links_the_decision_pages_each_role_may_open(client, request, persona, sees):
    client.force_login(request.getfixturevalue(persona))

    body = client.get(reverse("home")).content.decode()

    assert {label for label in ("Decisions", "Guardrails") if f">{label}</a>" in body} == sees


# --- decisions per invoice ------------------------------------------------------------
def test_agent_reads_a_decisions_reasoning_actions_and_audit_trail(client, agent):
    guardrails_update(changes={"segment_modes": {"self_serve": "approve"}}, user=None, note="x")
    decision = decided_invoice(decline_code="04")
    client.force_login(agent)

    response = client.get(invoice_page())

    body = response.content.decode()
    assert "Ana Lima 1" in body and "EUR 49.00" in body and "Payment due" in body
    assert decision.reasoning.replace("'", "&#x27;") in body
    assert (
        "the issuer asked for the card to be picked up (decline 04)" in body
    )  # the rule that fired
    assert "Send a payment-method update link" in body and "Email" in body
    assert "segment Self-serve is in approve mode" in body  # why it waits for a person
    assert "Mon 02 Nov 12:00" in body and "Mon 02 Nov 13:00" in body  # UTC, Berlin
    assert "Feature snapshot" in body and "Europe/Berlin" in body
    assert "decision.made" in body and "action.proposed" in body


def test_the_invoice_page_lists_decisions_newest_first_with_state_changes(client, agent):
    guardrails_update(changes={"segment_modes": {"self_serve": "approve"}}, user=None, note="x")
    first = decided_invoice(decline_code="04")
    link_now = first.actions.order_by("scheduled_for").first()  # a reminder follows later
    action_reject(action=link_now, user=agent, reason="customer called, paying today")
    from dunning.pipeline.decide import decision_make

    later = decision_make(invoice_id="inv_1", trigger="manual", at=FAILED_AT + timedelta(days=1))
    client.force_login(agent)

    body = client.get(invoice_page()).content.decode()

    assert body.index(f'id="decision-{later.pk}"') < body.index(f'id="decision-{first.pk}"')
    assert "Rejected" in body and "customer called, paying today" in body
    assert "Proposed → Rejected" in body


def test_an_unknown_invoice_is_not_found(client, agent):
    client.force_login(agent)
    assert client.get(invoice_page("inv_nope")).status_code == 404


def test_invoice_trail_shows_only_that_invoices_entries(client, agent):
    decided_invoice(1)
    other = decided_invoice(2)
    client.force_login(agent)

    body = client.get(invoice_page("inv_1")).content.decode()

    assert f"decision {other.pk}<" not in body
    assert body.count("decision.made") == 1


def test_verifying_an_invoices_entries_finds_them_intact(client, agent):
    decided_invoice()
    client.force_login(agent)

    body = client.get(invoice_page(), {"verify": 1}).content.decode()

    # The decision and each of its actions' entries (take-over, retry, message).
    assert re.search(r"Intact: [2-9] entries and their links checked", body)


@pytest.mark.skipif(
    connection.vendor == "postgresql", reason="PostgreSQL triggers refuse the tampering itself"
)
def test_verifying_finds_an_altered_entry(client, agent):
    decided_invoice()
    entry = AuditEntry.objects.get(action="decision.made")
    AuditEntry.objects.filter(pk=entry.pk).update(data={**entry.data, "reasoning": "edited"})
    client.force_login(agent)

    body = client.get(invoice_page(), {"verify": 1}).content.decode()

    assert f"Entry #{entry.seq} was altered after it was written" in body


# --- the decision list ----------------------------------------------------------------
def test_decision_list_filters_by_mode_and_links_to_the_invoice(client, manager):
    decided_invoice(1)
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="x")
    decided_invoice(2)
    client.force_login(manager)

    body = client.get(DECISIONS, {"mode": "approve"}).content.decode()

    assert invoice_page("inv_2") in body and invoice_page("inv_1") not in body
    assert "· 1 decision</span>" in body


def test_decision_list_counts_actions_waiting_for_approval(client, manager):
    guardrails_update(changes={"default_mode": "approve"}, user=None, note="x")
    decided_invoice(1, decline_code="04")
    client.force_login(manager)

    body = client.get(DECISIONS).content.decode()

    assert "2 to approve" in body  # the payment-method link and its reminder


def test_decision_list_finds_an_invoice_or_a_customer_by_its_id(client, manager):
    decided_invoice(1)
    decided_invoice(2)
    client.force_login(manager)

    by_invoice = client.get(DECISIONS, {"q": " inv_2 "}).content.decode()
    by_customer = client.get(DECISIONS, {"q": "cus_1"}).content.decode()

    assert invoice_page("inv_2") in by_invoice and invoice_page("inv_1") not in by_invoice
    assert invoice_page("inv_1") in by_customer and invoice_page("inv_2") not in by_customer


def test_decision_list_with_a_bad_filter_lists_every_decision_under_the_reason(client, manager):
    decided_invoice(1)
    client.force_login(manager)

    response = client.get(DECISIONS, {"trigger": "moon_phase", "mode": "approve"})

    body = response.content.decode()
    assert response.status_code == 400 and "Trigger: Select a valid choice" in body
    assert invoice_page("inv_1") in body  # the valid mode filter is not applied alone


def test_decision_list_with_a_bad_filter_says_why(client, manager):
    client.force_login(manager)

    response = client.get(DECISIONS, {"mode": "yolo"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_decision_list_htmx_request_gets_only_the_table(client, manager):
    decided_invoice()
    client.force_login(manager)

    response = client.get(DECISIONS, {"trigger": "payment_failed"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<html" not in body and '<table class="decisions' in body and "inv_1" in body
    assert "HX-Request" in response["Vary"]


def test_decision_list_queries_do_not_grow_with_the_rows(client, manager):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(DECISIONS).status_code == 200
        return len(captured)

    client.force_login(manager)
    decided_invoice(1)
    few = queries_for_page()
    for n in range(2, 8):
        decided_invoice(n)

    assert queries_for_page() == few
    assert Action.objects.count() >= 7
