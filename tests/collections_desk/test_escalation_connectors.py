"""Escalating to Salesforce, HubSpot and Zendesk, against a local peer speaking their APIs."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from collections_desk.escalation import case_escalate, escalation_status_check
from collections_desk.jobs import escalations_poll_job
from collections_desk.models import Case, CaseState, EscalationTicket
from collections_desk.queries import case_timeline
from dunning.models import ConnectorHealth

CASE_PATH = "/services/data/v60.0/sobjects/Case/"


@pytest.fixture
def salesforce(peer, connect, monkeypatch):
    monkeypatch.setenv("DUNWELL_SALESFORCE_TOKEN", "00Dtoken")
    connect(escalation="salesforce", salesforce={"instance_url": peer.url})
    return peer


def _timeline_titles(case):
    return [f"{e.title}: {e.detail}" for e in case_timeline(case=case)]


def test_escalating_to_salesforce_creates_a_case_with_the_summary_and_a_link_back(
    client, general_case, agent, salesforce
):
    salesforce.answer(
        "POST", CASE_PATH, 201, {"id": "500Dn00000AbCdE", "success": True, "errors": []}
    )
    client.force_login(agent)

    response = client.post(
        reverse("collections_desk:case_escalate", args=[general_case.pk]), follow=True
    )

    sent = salesforce.received[0]
    assert sent.headers["Authorization"] == "Bearer 00Dtoken"
    assert sent.json["Subject"].startswith(f"Dunwell: collections case {general_case.pk}")
    description = sent.json["Description"]
    assert "Lifetime value:" in description and "Payment attempts:" in description
    assert "Recommended: payment method link" in description
    assert f"/collections/cases/{general_case.pk}/" in description
    ticket = EscalationTicket.objects.get()
    assert (ticket.external_id, ticket.delivery) == ("500Dn00000AbCdE", "sent")
    assert ticket.external_url.endswith("/lightning/r/Case/500Dn00000AbCdE/view")
    assert "500Dn00000AbCdE" in response.content.decode()
    assert ConnectorHealth.objects.get(connector="salesforce").last_success_at is not None


def test_a_refused_salesforce_token_keeps_the_escalation_and_says_why_on_the_timeline(
    general_case, agent, salesforce
):
    salesforce.answer(
        "POST",
        CASE_PATH,
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )

    ticket = case_escalate(case=general_case, user=agent)

    assert ticket.delivery == "retrying" and ticket.external_id == ""
    assert (
        "DUNWELL_SALESFORCE_TOKEN" in ticket.last_error
        and "INVALID_SESSION_ID" in ticket.last_error
    )
    assert Case.objects.get(pk=general_case.pk).state == CaseState.ESCALATED
    assert any("escalation failed" in t and "401" in t for t in _timeline_titles(general_case))
    health = ConnectorHealth.objects.get(connector="salesforce")
    assert health.failing and "401" in health.last_failure_reason


def test_a_server_error_is_sent_again_by_the_poll_job_once_due(
    general_case, agent, salesforce, run_jobs
):
    salesforce.answer(
        "POST", CASE_PATH, 503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]
    )
    salesforce.answer("POST", CASE_PATH, 201, {"id": "500X", "success": True, "errors": []})
    ticket = case_escalate(case=general_case, user=agent)
    assert ticket.delivery == "retrying"

    assert escalations_poll_job()["resend"] == 0  # not due yet: it waits before trying again
    EscalationTicket.objects.filter(pk=ticket.pk).update(next_attempt_at=timezone.now())
    assert escalations_poll_job()["resend"] == 1
    run_jobs()

    ticket.refresh_from_db()
    assert (ticket.delivery, ticket.external_id, ticket.attempts) == ("sent", "500X", 2)
    assert len([r for r in salesforce.received if r.method == "POST"]) == 2
    assert escalations_poll_job()["resend"] == 0  # running it twice sends nothing more


def test_hubspot_rate_limit_waits_at_least_what_hubspot_asked(
    general_case, agent, peer, connect, monkeypatch
):
    monkeypatch.setenv("DUNWELL_HUBSPOT_TOKEN", "pat-na1-x")
    connect(escalation="hubspot", hubspot={"base_url": peer.url, "pipeline": "0", "stage": "1"})
    peer.answer(
        "POST",
        "/crm/v3/objects/tickets",
        429,
        {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "category": "RATE_LIMITS",
            "policyName": "TEN_SECONDLY_ROLLING",
        },
        Retry_After=900,
        X_HubSpot_RateLimit_Max=100,
        X_HubSpot_RateLimit_Remaining=0,
    )

    before = timezone.now()
    ticket = case_escalate(case=general_case, user=agent)

    assert "429" in ticket.last_error and "retry after 900 s" in ticket.last_error
    assert (ticket.next_attempt_at - before).total_seconds() >= 900
    sent = peer.received[0].json["properties"]
    assert (sent["hs_pipeline"], sent["hs_pipeline_stage"], sent["hs_ticket_priority"]) == (
        "0",
        "1",
        "HIGH",
    )


def test_zendesk_ticket_is_an_internal_note_and_its_status_comes_back_to_the_timeline(
    general_case, agent, peer, connect, monkeypatch
):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd-token")
    connect(escalation="zendesk", zendesk={"base_url": peer.url, "email": "ops@example.com"})
    peer.answer("POST", "/api/v2/tickets.json", 201, {"ticket": {"id": 35436, "status": "new"}})
    peer.answer(
        "GET", "/api/v2/tickets/35436.json", 200, {"ticket": {"id": 35436, "status": "open"}}
    )
    peer.answer(
        "GET", "/api/v2/tickets/35436.json", 200, {"ticket": {"id": 35436, "status": "solved"}}
    )

    ticket = case_escalate(case=general_case, user=agent)
    first = escalation_status_check(ticket_id=ticket.pk)
    again = escalation_status_check(ticket_id=ticket.pk)

    created = peer.received[0]
    assert created.json["ticket"]["comment"]["public"] is False
    assert created.headers["Authorization"].startswith("Basic ")
    assert (first, again) == ("changed", "changed")
    ticket.refresh_from_db()
    assert (ticket.external_status, ticket.external_closed) == ("solved", True)
    assert ticket.external_url == f"{peer.url}/agent/tickets/35436"
    titles = _timeline_titles(general_case)
    assert any("Zendesk 35436: new → open" in t for t in titles)
    assert any("open → solved (closed)" in t for t in titles)
    assert escalation_status_check(ticket_id=ticket.pk) == "not polled"  # closed: asked no more


ZENDESK_SECRET = "dGhpc19pc19hX3NpZ25pbmdfc2VjcmV0"


def _zendesk_signed(body: bytes, timestamp: str = "2026-11-20T12:00:00Z") -> dict:
    import base64
    import hashlib
    import hmac

    digest = hmac.new(ZENDESK_SECRET.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": base64.b64encode(digest).decode(),
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP": timestamp,
        "HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID": "inv-1",
    }


@pytest.fixture
def zendesk_escalated(general_case, agent, peer, connect, monkeypatch):
    monkeypatch.setenv("DUNWELL_ZENDESK_API_TOKEN", "zd-token")
    monkeypatch.setenv("DUNWELL_ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
    connect(escalation="zendesk", zendesk={"base_url": peer.url, "email": "ops@example.com"})
    peer.answer("POST", "/api/v2/tickets.json", 201, {"ticket": {"id": 35436, "status": "new"}})
    peer.answer(
        "GET", "/api/v2/tickets/35436.json", 200, {"ticket": {"id": 35436, "status": "pending"}}
    )
    return case_escalate(case=general_case, user=agent)


def test_a_signed_zendesk_webhook_brings_the_status_to_the_timeline_at_once(
    client, general_case, zendesk_escalated, run_jobs, django_capture_on_commit_callbacks
):
    body = b'{"ticket_id": "35436"}'

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("zendesk_webhook"),
            body,
            content_type="application/json",
            **_zendesk_signed(body),
        )
    redelivered = client.post(
        reverse("zendesk_webhook"), body, content_type="application/json", **_zendesk_signed(body)
    )
    run_jobs()

    assert response.status_code == 200 and redelivered.json()["duplicate"] is True
    zendesk_escalated.refresh_from_db()
    assert zendesk_escalated.external_status == "pending"
    assert any("Zendesk 35436: new → pending" in t for t in _timeline_titles(general_case))


def test_a_forged_zendesk_webhook_is_refused_and_not_stored(client, zendesk_escalated):
    from dunning.models import ConnectorEvent

    body = b'{"ticket_id": "35436"}'
    headers = {**_zendesk_signed(b'{"ticket_id": "1"}')}

    response = client.post(
        reverse("zendesk_webhook"), body, content_type="application/json", **headers
    )

    assert response.status_code == 400 and "does not match" in response.json()["error"]
    assert not ConnectorEvent.objects.exists()
