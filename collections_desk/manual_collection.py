"""What a person asks for on an invoice: collect now, request payment, record a payment.

Each request is a Decision (trigger "manual", made by that person) with one Action. The
guardrails' approval rules apply as to Dunwell's own actions: when the person may approve
the action themselves (an agent: low-risk ones; a manager: any) it is approved and
scheduled at once; otherwise it waits in the approval inbox for someone who may.
The executor runs it like any other action (and checks everything again first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from collections_desk.cases import cases_sync_for_decision
from dunning.actions.channels.message_life import message_wait_ahead
from dunning.actions.channels.preview import message_draft_enqueue
from dunning.actions.execution.executor import OPEN_STATUSES
from dunning.actions.state_machine import action_approve, action_fingerprint, action_may_approve
from dunning.decisions.latest import decision_create
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationError
from dunning.helpers.money import amount_text
from dunning.models import (
    ALWAYS_NEEDS_APPROVAL,
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    Decision,
    Invoice,
    PaymentSource,
)

# Asking for an action on an invoice is part of approving actions (agents and up).
REQUEST_PERMISSION = "dunning.approve_action"
OFFLINE_METHODS = {
    "bank_transfer": "Bank transfer",
    "check": "Cheque",
    "cash": "Cash",
    "other": "Other",
}


class ManualRequestRefused(ApplicationError, ValueError):
    """The request cannot be made (the reason is shown to the person)."""


@dataclass(frozen=True)
class ManualOutcome:
    action: Action

    @property
    def scheduled(self) -> bool:
        return self.action.state == ActionState.SCHEDULED

    def summary(self) -> str:
        """What the person is told: what will happen, not more (a message quiet hours hold
        says so, with the time it goes in the customer's zone)."""
        what = self.action.get_kind_display()
        if self.scheduled and (wait := message_wait_ahead(action=self.action)):
            if wait.state == "refused":
                return f"{what}: approved, but it will not be sent: {wait.reason}."
            return f"{what}: approved; waits for {wait.reason} until {wait.until_local}."
        if self.scheduled:
            return f"{what}: approved and on its way."
        return f"{what}: waiting for approval ({self.action.approval_reason})."


def _money(amount: int, currency: str) -> str:
    return f"{amount_text(amount, currency)} {currency}"


def check_may_request(*, invoice: Invoice, user) -> None:
    if not user.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied("you may not ask for actions on invoices")
    if invoice.status not in OPEN_STATUSES:
        raise ManualRequestRefused(
            f"the invoice is {invoice.status or 'not due'}: nothing to collect"
        )


def _amount_checked(*, invoice: Invoice, amount: int) -> int:
    if amount <= 0:
        raise ManualRequestRefused("the amount must be more than zero")
    if amount > invoice.amount_due:
        due = _money(invoice.amount_due, invoice.currency_code)
        raise ManualRequestRefused(f"the amount is more than the {due} due")
    return amount


def _gateway(invoice: Invoice) -> str:
    source_id = invoice.customer.primary_payment_source_id
    if not source_id:
        return ""
    return (
        PaymentSource.objects.filter(cb_id=source_id).values_list("gateway", flat=True).first()
        or ""
    )


def manual_request_create(
    *,
    invoice: Invoice,
    user,
    kind: str,
    reasoning: str,
    params: dict | None = None,
    channel: str = "",
    amount: int = 0,
    self_approve: bool = True,
    approval_reason: str = "",
) -> ManualOutcome:
    """Record the person's request as a decision and an action, approved if they may.

    ``approval_reason``: why it waits for someone else, when the kind says more than the
    general rule (a payment plan)."""
    guardrails = guardrails_active()
    high = kind in ALWAYS_NEEDS_APPROVAL or amount >= guardrails.review_amount
    why = (
        "it changes a subscription or an invoice for good: a manager approves"
        if kind in ALWAYS_NEEDS_APPROVAL
        else f"{_money(amount, invoice.currency_code)} is at or above the review amount"
        if high
        else f"asked for by {user.get_username()}"
    )
    why = approval_reason or why
    latest = Decision.objects.filter(invoice=invoice).order_by("-as_of", "-id").first()
    now = timezone.now()
    with transaction.atomic():
        decision = decision_create(
            invoice=invoice,
            customer_id=invoice.customer_id,
            trigger=Decision.Trigger.MANUAL,
            as_of=now,
            model_version=f"person: {user.get_username()}",
            segment=latest.segment if latest else "manual",
            mode=AutomationMode.APPROVE,
            guardrail_version=guardrails.version,
            reasoning=reasoning,
            features={
                "gateway": _gateway(invoice),
                "amount_due": invoice.amount_due,
                "currency": invoice.currency_code,
                "requested_by": user.get_username(),
            },
        )
        action = Action.objects.create(
            decision=decision,
            invoice=invoice,
            customer_id=invoice.customer_id,
            kind=kind,
            channel=channel,
            scheduled_for=now,
            params=params or {},
            reasoning=reasoning,
            mode=AutomationMode.APPROVE,
            risk=Action.Risk.HIGH if high else Action.Risk.LOW,
            needs_approval=True,
            approval_reason=why[:300],
        )
        audit_record(
            action="action.proposed",
            actor=user,
            target=action,
            data={
                "decision": decision.pk,
                "kind": kind,
                "invoice": invoice.cb_id,
                "scheduled_for": now,
                "channel": channel,
                "params": action.params,
                "needs_approval": True,
                "risk": action.risk,
                "reasoning": reasoning,
            },
        )
        message_draft_enqueue(action=action)  # its approver reads it drafted
        # The request belongs to the customer's case (opened now if need be), so the desk's
        # rules on who may approve it apply: agents their team's cases, managers all.
        cases_sync_for_decision(decision=decision)
        allowed, _ = action_may_approve(action=action, user=user)
        if self_approve and allowed and kind not in ALWAYS_NEEDS_APPROVAL:
            action_approve(action=action, user=user, fingerprint=action_fingerprint(action))
    return ManualOutcome(action=action)


def manual_collect_now(*, invoice: Invoice, user, amount: int) -> ManualOutcome:
    """Charge the card on file now; less than the amount due leaves the invoice payment due."""
    check_may_request(invoice=invoice, user=user)
    _amount_checked(invoice=invoice, amount=amount)
    if not invoice.customer.primary_payment_source_id:
        raise ManualRequestRefused(
            "the customer has no payment method on file: request a payment method instead"
        )
    money = _money(amount, invoice.currency_code)
    partial = "" if amount == invoice.amount_due else " (part of what is due)"
    return manual_request_create(
        invoice=invoice,
        user=user,
        kind=ActionKind.RETRY,
        amount=amount,
        params={"amount": amount, "requested": "collect_now"},
        reasoning=f"{user.get_username()} asked to collect {money} now{partial}.",
    )


def manual_request_payment(*, invoice: Invoice, user) -> ManualOutcome:
    """Email a link where the customer pays the outstanding invoices (and may change card)."""
    check_may_request(invoice=invoice, user=user)
    return manual_request_create(
        invoice=invoice,
        user=user,
        kind=ActionKind.MESSAGE,
        channel="email",
        params={"template": "request_payment", "requested": "request_payment"},
        reasoning=f"{user.get_username()} asked the customer to pay the outstanding invoices.",
    )


def manual_request_payment_method(*, invoice: Invoice, user) -> ManualOutcome:
    """Email a link where the customer only updates the payment method (collected later)."""
    check_may_request(invoice=invoice, user=user)
    return manual_request_create(
        invoice=invoice,
        user=user,
        kind=ActionKind.PAYMENT_METHOD_LINK,
        channel="email",
        params={"template": "request_payment_method", "requested": "request_payment_method"},
        reasoning=f"{user.get_username()} asked the customer to update the payment method.",
    )


def manual_record_payment(
    *,
    invoice: Invoice,
    user,
    amount: int,
    paid_on: date,
    method: str,
    reference: str = "",
    request_id: str = "",
) -> ManualOutcome:
    """Record money received outside Chargebee (a transfer, a cheque) against the invoice.

    ``request_id`` (a random token the form carries) makes a double submit harmless: the
    second POST finds the first one's action and records nothing more, so Chargebee's
    ``record_payment`` is called once.
    """
    request_id = (request_id or "").strip()[:64]
    if request_id:
        with transaction.atomic():
            # The invoice row serialises two submits of one form arriving together.
            Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
            earlier = Action.objects.filter(
                invoice=invoice, kind=ActionKind.RECORD_PAYMENT, params__request_id=request_id
            ).first()
            if earlier is not None:
                return ManualOutcome(action=earlier)
            return _record_payment(
                invoice=invoice,
                user=user,
                amount=amount,
                paid_on=paid_on,
                method=method,
                reference=reference,
                request_id=request_id,
            )
    return _record_payment(
        invoice=invoice,
        user=user,
        amount=amount,
        paid_on=paid_on,
        method=method,
        reference=reference,
        request_id="",
    )


def _record_payment(
    *,
    invoice: Invoice,
    user,
    amount: int,
    paid_on: date,
    method: str,
    reference: str,
    request_id: str,
) -> ManualOutcome:
    check_may_request(invoice=invoice, user=user)
    _amount_checked(invoice=invoice, amount=amount)
    if paid_on > timezone.now().date():
        raise ManualRequestRefused("the payment date is in the future")
    if method not in OFFLINE_METHODS:
        raise ManualRequestRefused(f"unknown payment method {method!r}")
    money = _money(amount, invoice.currency_code)
    ref = f", reference {reference}" if reference else ""
    return manual_request_create(
        invoice=invoice,
        user=user,
        kind=ActionKind.RECORD_PAYMENT,
        amount=amount,
        params={
            "amount": amount,
            "paid_on": paid_on.isoformat(),
            "method": method,
            "reference": reference.strip(),
            **({"request_id": request_id} if request_id else {}),
        },
        reasoning=f"{user.get_username()} recorded {money} received by "
        f"{OFFLINE_METHODS[method].lower()} on {paid_on:%Y-%m-%d}{ref}.",
    )
