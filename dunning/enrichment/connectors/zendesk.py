"""Zendesk: escalations as tickets, and the customer's ticket history as signals.

Auth is an API token (``{email}/token`` and the token, Basic). Errors are
``{"error": ..., "description": ...}``; a 429 carries ``Retry-After`` in seconds. The escalation
is an internal note (``public: false``): the customer is not emailed Dunwell's summary. The
signal search sends Zendesk the customer's email, which Zendesk already holds, and reads
back the tickets of the 30 days before the decision; their text is scored here and dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.escalation_text import (
    TicketStatus,
    escalation_body,
    escalation_subject,
)
from dunning.enrichment.connectors.sentiment import about_payment, asks_to_cancel, sentiment_score
from dunning.enrichment.connectors.vendor_http import ConnectorError, vendor_call
from dunning.enrichment.signals.values import Signals
from dunning.models import Customer

CREDENTIAL = "DUNWELL_ZENDESK_API_TOKEN"
CLOSED_STATUSES = ("solved", "closed")
OPEN_STATUSES = ("new", "open", "pending", "hold")
WINDOW = timedelta(days=30)
PAGE = 100


def zendesk_error(body: object) -> str:
    if isinstance(body, dict) and body.get("error"):
        error = body["error"]
        error = error.get("title", error) if isinstance(error, dict) else error
        return f"{error}: {body.get('description', '')}".rstrip(": ")
    return ""


class ZendeskClient:
    name = "zendesk"

    def __init__(self, *, base_url: str, email: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.email = email
        self.token = connector_secret("ZENDESK_API_TOKEN") if token is None else token

    def call(self, method: str, path: str, **request):
        if not self.token or not self.email:
            raise ConnectorError(f"Zendesk needs the agent's email and {CREDENTIAL}")
        return vendor_call(
            connector=self.name,
            method=method,
            url=f"{self.base_url}/api/v2/{path}",
            credential=CREDENTIAL,
            detail=zendesk_error,
            auth=(f"{self.email}/token", self.token),
            headers={"Accept": "application/json"},
            **request,
        )

    def check(self) -> str:
        user = (self.call("GET", "users/me.json").get("user")) or {}
        if not user.get("id"):
            raise ConnectorError("Zendesk answered as an anonymous user: check the email and token")
        return f"Zendesk answered: signed in as an {user.get('role', 'agent')} (user {user['id']})."


class ZendeskEscalation(ZendeskClient):
    def send(self, *, summary: dict) -> str:
        ticket = {
            "subject": escalation_subject(summary),
            "comment": {"body": escalation_body(summary), "public": False},
            "priority": "high",
            "tags": ["dunwell", "collections"],
            "external_id": f"dunwell-case-{summary.get('case_id')}",
        }
        answer = self.call("POST", "tickets.json", json={"ticket": ticket})
        created = answer.get("ticket") if isinstance(answer, dict) else None
        if not isinstance(created, dict) or not created.get("id"):
            raise ConnectorError(f"Zendesk did not return the ticket id: {answer!r}"[:300])
        return str(created["id"])

    def url_for(self, external_id: str) -> str:
        return f"{self.base_url}/agent/tickets/{external_id}"

    def status(self, *, external_id: str) -> TicketStatus:
        ticket = self.call("GET", f"tickets/{external_id}.json").get("ticket") or {}
        status = str(ticket.get("status", ""))
        return TicketStatus(status=status[:60], closed=status in CLOSED_STATUSES)


class ZendeskSignals(ZendeskClient):
    """Support signals from the requester's tickets in the 30 days before ``at``."""

    def __init__(self, *, base_url: str, email: str, token: str | None = None, email_of=None):
        super().__init__(base_url=base_url, email=email, token=token)
        self.email_of = email_of or _customer_email

    def signals_for(self, *, customer_id: str, at: datetime) -> Signals:
        requester = self.email_of(customer_id)
        if not requester:
            return Signals(sources=("zendesk: no email for the customer",))
        since, until = (at - WINDOW).date().isoformat(), (at + timedelta(days=1)).date().isoformat()
        answer = self.call(
            "GET",
            "search.json",
            params={
                "query": f"type:ticket requester:{requester} created>{since} created<{until}",
                "per_page": PAGE,
            },
        )
        tickets = [t for t in answer.get("results") or [] if _created(t) <= at]
        texts = [f"{t.get('subject') or ''} {t.get('description') or ''}" for t in tickets]
        scores = [s for s in map(sentiment_score, texts) if s is not None]
        return Signals(
            open_tickets=sum(t.get("status") in OPEN_STATUSES for t in tickets),
            payment_tickets_30d=sum(map(about_payment, texts)),
            cancel_intent=any(map(asks_to_cancel, texts)),
            worst_sentiment_30d=min(scores) if scores else None,
            sources=(self.name,),
        )


def _created(ticket: dict) -> datetime:
    return datetime.fromisoformat(str(ticket.get("created_at", "")).replace("Z", "+00:00"))


def _customer_email(customer_id: str) -> str:
    return Customer.objects.filter(cb_id=customer_id).values_list("email", flat=True).first() or ""


def zendesk_signature_valid(*, body: bytes, timestamp: str, signature: str, secret: str) -> bool:
    """Zendesk webhooks sign ``timestamp + body`` with HMAC-SHA256, base64 (docs/connectors.md)."""
    if not (secret and timestamp and signature):
        return False
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)
