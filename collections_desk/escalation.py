"""Escalating a case to the CRM or task tool (docs/escalation.md, docs/connectors.md).

The summary carries what the next person needs: the invoices and amount, the attempts so
far, lifetime value, the recovery score, the recommended action and a link back to the
case. It carries no card data and no free text written by the customer. The Connections
page chooses the adapter: Salesforce, HubSpot or Zendesk
(dunning.enrichment.connectors), the generic HTTP adapter (``ESCALATION_WEBHOOK_URL``),
or the local one that keeps it as a row.

The escalation is recorded first; the tool is then asked. A tool that fails does not undo
it: the ticket says why, the case timeline shows it, and ``escalations_poll_job`` sends it
again with a growing wait (the tool's ``Retry-After`` when it gave one). The same job asks
the tool for each open ticket's status and writes changes to the timeline.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from collections_desk.access import user_may_work_team
from collections_desk.models import Case, CaseState, EscalationTicket
from dunning.enrichment.connectors.config import connections_read
from dunning.enrichment.connectors.registry import escalation_connector
from dunning.enrichment.connectors.vendor_http import LABELS, ConnectorError
from dunning.governance.audit import audit_record
from dunning.models import Transaction

logger = logging.getLogger("dunwell.escalation")

TIMEOUT_SECONDS = 5.0
VENDORS = ("salesforce", "hubspot", "zendesk")
MAX_ATTEMPTS = 6
FIRST_WAIT = timedelta(minutes=2)  # doubled after each failure
CLAIM = timedelta(minutes=10)  # longer than one send may take
STATUS_EVERY = timedelta(minutes=5)


class EscalationFailed(Exception):
    """The CRM/task tool did not take the escalation (nothing was recorded)."""


class EscalationAdapter(Protocol):
    name: str

    def send(self, *, summary: dict) -> str:
        """Hand the summary over; return the tool's id for it (or "")."""


class LocalEscalation:
    name = "local"

    def send(self, *, summary: dict) -> str:
        return ""


class HttpEscalation:
    """POST the summary as JSON; the tool answers 2xx with ``{"id": "..."}``."""

    name = "http"

    def __init__(self, *, url: str, token: str = ""):
        self.url, self.token = url, token

    def send(self, *, summary: dict) -> str:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.post(self.url, json=summary, headers=headers, timeout=TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            raise EscalationFailed(f"the task tool could not be reached: {error}") from error
        if response.status_code >= 300:
            raise EscalationFailed(f"the task tool answered {response.status_code}")
        try:
            return str(response.json().get("id", ""))[:200]
        except ValueError:
            return ""


def escalation_adapter(*, name: str | None = None) -> EscalationAdapter:
    """The adapter the Connections page chose (or the one a ticket was made with)."""
    name = name or connections_read()["escalation"]
    if name in VENDORS:
        return escalation_connector(vendor=name)
    if name == "http" and settings.ESCALATION_WEBHOOK_URL:
        return HttpEscalation(
            url=settings.ESCALATION_WEBHOOK_URL, token=settings.ESCALATION_WEBHOOK_TOKEN
        )
    return LocalEscalation()


def escalation_summary(*, case: Case) -> dict:
    decision = case.latest_decision
    invoice_ids = list(case.invoices.order_by("date").values_list("cb_id", flat=True))
    attempts = Transaction.objects.filter(invoice_id__in=invoice_ids, type="payment")
    recommended = (
        list(decision.actions.exclude(kind="escalate").values_list("kind", flat=True))
        if decision
        else []
    )
    return {
        "case_id": case.pk,
        "customer_id": case.customer_id,
        "team": case.team.name if case.team else None,
        "segment": case.segment,
        "invoices": invoice_ids,
        "amount_due": case.amount_due,
        "currency": case.currency,
        "lifetime_value": case.lifetime_value,
        "recovery_score": case.recovery_score,
        "attempts": attempts.count(),
        "failed_attempts": attempts.filter(status="failure").count(),
        "last_decline_category": case.decline_category,
        "why": case.reason,
        "ai_summary": decision.reasoning if decision else "",
        "recommended_actions": recommended,
        "opened_at": case.opened_at.isoformat(),
        "case_url": settings.PUBLIC_BASE_URL
        + reverse("collections_desk:case_detail", args=[case.pk]),
    }


def case_escalate(
    *, case: Case, user, adapter: EscalationAdapter | None = None
) -> EscalationTicket:
    """Record the escalation, then hand it to the tool (retried later if the tool fails)."""
    if not user_may_work_team(user=user, team=case.team):
        raise PermissionDenied("this case belongs to another team")
    if not case.is_open:
        raise ValueError("the case is resolved")
    adapter = adapter or escalation_adapter()
    summary = {
        **escalation_summary(case=case),
        "escalated_by": user.get_username(),
        "escalated_at": timezone.now().isoformat(),
    }
    with transaction.atomic():
        ticket = EscalationTicket.objects.create(
            case=case,
            created_by=user,
            adapter=adapter.name,
            summary=summary,
            attempts=0,
            delivery=EscalationTicket.Delivery.RETRYING,
            next_attempt_at=timezone.now(),
        )
        Case.objects.filter(pk=case.pk).update(state=CaseState.ESCALATED)
        audit_record(
            action="case.escalated",
            actor=user,
            target=case,
            data={"case": case.pk, "adapter": adapter.name, "ticket": ticket.pk},
        )
    case.state = CaseState.ESCALATED
    escalation_deliver(ticket_id=ticket.pk, adapter=adapter)  # outside: it is a network call
    ticket.refresh_from_db()
    return ticket


def _tool(adapter_name: str) -> str:
    return LABELS.get(adapter_name, "the task tool" if adapter_name == "http" else adapter_name)


def escalation_deliver(*, ticket_id: int, adapter: EscalationAdapter | None = None) -> str:
    """Send a recorded escalation to its tool; safe to run twice (the ticket is claimed)."""
    now = timezone.now()
    claimed = EscalationTicket.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at=None),
        pk=ticket_id,
        delivery=EscalationTicket.Delivery.RETRYING,
        external_id="",
    ).update(next_attempt_at=now + CLAIM)
    if not claimed:
        return "not due"
    ticket = EscalationTicket.objects.select_related("case").get(pk=ticket_id)
    try:
        adapter = adapter or escalation_adapter(name=ticket.adapter)
        external_id = adapter.send(summary=ticket.summary)
    except (ConnectorError, EscalationFailed) as error:
        return _delivery_failed(ticket=ticket, error=error)
    url = adapter.url_for(external_id) if external_id and hasattr(adapter, "url_for") else ""
    with transaction.atomic():
        EscalationTicket.objects.filter(pk=ticket.pk).update(
            delivery=EscalationTicket.Delivery.SENT,
            external_id=external_id,
            external_url=url,
            attempts=F("attempts") + 1,
            last_error="",
            next_attempt_at=None,
        )
        if ticket.adapter != LocalEscalation.name:
            where = f"{_tool(ticket.adapter)} {external_id}".strip()
            audit_record(
                action="case.escalation_sent",
                actor=None,
                actor_label=ticket.adapter,
                target=ticket.case,
                data={
                    "ticket": ticket.pk,
                    "external_id": external_id,
                    "reason": f"taken by {where}",
                },
            )
    return "sent"


def _delivery_failed(*, ticket: EscalationTicket, error: Exception) -> str:
    attempts = ticket.attempts + 1
    wait = FIRST_WAIT * 2 ** (attempts - 1)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        wait = max(wait, timedelta(seconds=retry_after))
    last = attempts >= MAX_ATTEMPTS
    delivery = EscalationTicket.Delivery.FAILED if last else EscalationTicket.Delivery.RETRYING
    then = (
        "given up: escalate again or follow up by hand"
        if last
        else (f"retrying in {int(wait.total_seconds() // 60) or 1} min")
    )
    reason = f"{_tool(ticket.adapter)} did not take it (attempt {attempts}): {error}; {then}"
    with transaction.atomic():
        EscalationTicket.objects.filter(pk=ticket.pk).update(
            delivery=delivery,
            attempts=attempts,
            last_error=str(error)[:500],
            next_attempt_at=None if last else timezone.now() + wait,
        )
        audit_record(
            action="case.escalation_failed",
            actor=None,
            actor_label=ticket.adapter,
            target=ticket.case,
            data={"ticket": ticket.pk, "reason": reason[:500]},
        )
    logger.warning("escalation %s: %s", ticket.pk, reason)
    return "failed" if last else "retrying"


def escalation_status_check(*, ticket_id: int) -> str:
    """Ask the tool for the ticket's status; a change goes to the case timeline."""
    ticket = EscalationTicket.objects.select_related("case").get(pk=ticket_id)
    if ticket.adapter not in VENDORS or not ticket.external_id or ticket.external_closed:
        return "not polled"
    EscalationTicket.objects.filter(pk=ticket.pk).update(status_checked_at=timezone.now())
    try:
        answer = escalation_adapter(name=ticket.adapter).status(external_id=ticket.external_id)
    except ConnectorError as error:
        logger.warning("escalation %s status: %s", ticket.pk, error)
        return "unavailable"
    with transaction.atomic():
        changed = (
            EscalationTicket.objects.filter(pk=ticket.pk)
            .exclude(external_status=answer.status, external_closed=answer.closed)
            .update(external_status=answer.status, external_closed=answer.closed)
        )
        if changed:
            was = ticket.external_status or "new"
            closed = " (closed)" if answer.closed else ""
            audit_record(
                action="case.escalation_status",
                actor=None,
                actor_label=ticket.adapter,
                target=ticket.case,
                data={
                    "ticket": ticket.pk,
                    "from": was,
                    "to": answer.status,
                    "reason": f"{_tool(ticket.adapter)} {ticket.external_id}: "
                    f"{was} → {answer.status}{closed}",
                },
            )
    return "changed" if changed else "unchanged"


def escalations_due(*, now=None) -> tuple[list[int], list[int]]:
    """(tickets to send again, open tickets whose status is due to be asked)."""
    now = now or timezone.now()
    resend = EscalationTicket.objects.filter(
        delivery=EscalationTicket.Delivery.RETRYING, external_id="", next_attempt_at__lte=now
    )
    poll = EscalationTicket.objects.filter(
        Q(status_checked_at=None) | Q(status_checked_at__lte=now - STATUS_EVERY),
        delivery=EscalationTicket.Delivery.SENT,
        adapter__in=VENDORS,
        external_closed=False,
        case__state=CaseState.ESCALATED,
    ).exclude(external_id="")
    return list(resend.values_list("pk", flat=True)[:200]), list(
        poll.values_list("pk", flat=True)[:200]
    )
