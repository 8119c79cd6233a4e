"""Escalating a case to the CRM or task tool (docs/escalation.md).

The summary carries what the next person needs: the invoices and amount, the attempts so
far, lifetime value, the recovery score and the recommended action. It carries no card data
and no free text written by the customer. With ``ESCALATION_WEBHOOK_URL`` set, the HTTP
adapter POSTs it as JSON and stores the ticket id the tool answers; otherwise the local
adapter keeps it as an EscalationTicket row the case page shows.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from collections_desk.access import user_may_work_team
from collections_desk.models import Case, CaseState, EscalationTicket
from dunning.audit import audit_record
from dunning.models import Transaction

TIMEOUT_SECONDS = 5.0


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


def escalation_adapter() -> EscalationAdapter:
    if settings.ESCALATION_WEBHOOK_URL:
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
    }


def case_escalate(
    *, case: Case, user, adapter: EscalationAdapter | None = None
) -> EscalationTicket:
    if not user_may_work_team(user=user, team=case.team):
        raise PermissionDenied("this case belongs to another team")
    if not case.is_open:
        raise ValueError("the case is resolved")
    adapter = adapter or escalation_adapter()
    summary = {**escalation_summary(case=case), "escalated_by": user.get_username(),
               "escalated_at": timezone.now().isoformat()}  # fmt: skip
    external_id = adapter.send(summary=summary)  # outside the transaction: it is a network call
    with transaction.atomic():
        ticket = EscalationTicket.objects.create(
            case=case, created_by=user, adapter=adapter.name, external_id=external_id,
            summary=summary,
        )  # fmt: skip
        Case.objects.filter(pk=case.pk).update(state=CaseState.ESCALATED)
        audit_record(action="case.escalated", actor=user, target=case,
                     data={"case": case.pk, "adapter": adapter.name, "ticket": ticket.pk,
                           "external_id": external_id})  # fmt: skip
    case.state = CaseState.ESCALATED
    return ticket
