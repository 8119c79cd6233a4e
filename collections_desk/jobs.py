"""Periodic jobs of the desk. Each is safe to run twice (conditional updates, upserts)."""

from __future__ import annotations

from collections_desk.cases import cases_refresh
from collections_desk.escalation import (
    escalation_deliver,
    escalation_status_check,
    escalations_due,
)
from collections_desk.escalation_webhooks import zendesk_event_job, zendesk_events_pending
from collections_desk.payment_plans import payment_plans_track
from dunning.helpers.queueing import get_queue


def cases_refresh_job() -> dict[str, int]:
    """Resolve paid-up cases and refresh priorities (age and SLA move with time)."""
    return cases_refresh()


def payment_plans_track_job() -> dict[str, int]:
    """Follow approved payment plans into Chargebee and each instalment's status."""
    return payment_plans_track()


def escalation_deliver_job(ticket_id: int) -> str:
    return escalation_deliver(ticket_id=ticket_id)


def escalation_status_job(ticket_id: int) -> str:
    return escalation_status_check(ticket_id=ticket_id)


def escalations_poll_job() -> dict[str, int]:
    """Send again the escalations a tool refused, ask for open tickets' status, and relay
    Zendesk webhooks whose job was lost."""
    resend, poll = escalations_due()
    webhooks = zendesk_events_pending()  # stored, but their job was lost
    queue = get_queue("default")
    for ticket_id in resend:
        queue.enqueue(escalation_deliver_job, ticket_id)
    for ticket_id in poll:
        queue.enqueue(escalation_status_job, ticket_id)
    for event_id in webhooks:
        queue.enqueue(zendesk_event_job, event_id)
    return {"resend": len(resend), "poll": len(poll), "webhooks": len(webhooks)}
