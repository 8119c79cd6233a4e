"""Zendesk's webhook for escalated tickets: a status change reaches the case at once.

A Zendesk trigger ("Ticket is updated", tag ``dunwell``) POSTs ``{"ticket_id": "{{ticket.id}}"}``
to ``/webhooks/zendesk/``. The signature (``X-Zendesk-Webhook-Signature``: base64
HMAC-SHA256 of the timestamp header followed by the body, with the webhook's signing
secret) is checked, the call is stored and acknowledged, and a job asks Zendesk's API for
the ticket's status (the body is not trusted for it) as the poll job would.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from collections_desk.escalation import escalation_status_check
from collections_desk.models import EscalationTicket
from dunning.enrichment.connectors.config import connector_secret
from dunning.enrichment.connectors.webhooks import (
    connector_event_done,
    connector_event_store,
    connector_events_pending,
    webhook_size_refusal,
)
from dunning.enrichment.connectors.zendesk import zendesk_signature_valid
from dunning.models import ConnectorEvent

MAX_BYTES = 64 * 1024


def zendesk_event_process(*, event_id: int) -> str:
    event = ConnectorEvent.objects.get(pk=event_id)
    if event.processed_at:
        return event.outcome
    ticket_id = str((event.payload or {}).get("ticket_id", ""))
    tickets = EscalationTicket.objects.filter(adapter="zendesk", external_id=ticket_id)
    outcomes = [
        escalation_status_check(ticket_id=pk) for pk in tickets.values_list("pk", flat=True)
    ]
    outcome = f"ticket {ticket_id}: {', '.join(outcomes) or 'not a Dunwell escalation'}"
    connector_event_done(event_id=event.pk, outcome=outcome)
    return outcome


def zendesk_event_job(event_id: int) -> str:
    return zendesk_event_process(event_id=event_id)


def zendesk_events_pending() -> list[int]:
    return connector_events_pending(vendor="zendesk")


@csrf_exempt
@require_POST
def zendesk_webhook(request: HttpRequest) -> HttpResponse:
    if refusal := webhook_size_refusal(request, limit=MAX_BYTES):
        return refusal
    secret = connector_secret("ZENDESK_WEBHOOK_SECRET")
    if not secret:
        return JsonResponse({"error": "no Zendesk webhook secret is configured"}, status=403)
    timestamp = request.headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
    if not zendesk_signature_valid(
        body=request.body,
        timestamp=timestamp,
        secret=secret,
        signature=request.headers.get("X-Zendesk-Webhook-Signature", ""),
    ):
        return JsonResponse({"error": "the Zendesk signature does not match"}, status=400)
    try:
        payload = json.loads(request.body)
        ticket_id = str(payload["ticket_id"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": 'the body must be {"ticket_id": ...}'}, status=400)
    invocation = (
        request.headers.get("X-Zendesk-Webhook-Invocation-Id") or f"{ticket_id}@{timestamp}"
    )
    stored = connector_event_store(
        vendor="zendesk",
        event_id=invocation,
        event_type="ticket.updated",
        payload=payload,
        job=zendesk_event_job,
    )
    return JsonResponse({"received": True, **({} if stored else {"duplicate": True})})
