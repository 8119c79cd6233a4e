"""Promises to pay: recorded on a case, holding Dunwell back, checked once their day is over.

Recording a promise places a hold on the invoice (``dunning.decisions.rules.holds``): Dunwell's
pending retries and messages on it are cancelled and none is planned or sent until the end
of the promised day (UTC). The case leaves the working queue (state "promised").

``promises_check`` (a periodic job, safe to run twice: each promise changes once, by a
conditional UPDATE) settles the promises whose day is over or whose invoice was paid:
kept when at least the promised amount was paid since, else broken. A broken promise
lifts the hold, puts the case back in the queue with a higher priority (see ``priority``)
and asks for a fresh decision on the invoice, so Dunwell's dunning resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from collections_desk.cases import UNPAID_STATUSES, case_require_work
from collections_desk.models import Case, CaseState, PromiseToPay
from collections_desk.priority import cases_priority_refresh
from dunning.actions.holds import invoice_hold_place, invoice_hold_release
from dunning.governance.audit import audit_record
from dunning.helpers.money import amount_text
from dunning.models import Invoice, InvoiceHold

LONGEST_PROMISE = timedelta(days=60)


def promise_day_end(promised_for: date) -> datetime:
    """The hold lasts to the end of the promised day (midnight UTC after it)."""
    return datetime.combine(promised_for + timedelta(days=1), time(0), tzinfo=UTC)


def promise_record(
    *, case: Case, user, invoice: Invoice, amount: int, promised_for: date
) -> PromiseToPay:
    """Record the customer's promise to pay ``amount`` (minor units) by ``promised_for``."""
    case_require_work(user=user, case=case)
    if not case.invoices.filter(pk=invoice.pk, status__in=UNPAID_STATUSES).exists():
        raise ValueError(f"{invoice.cb_id} is not an unpaid invoice of this case")
    if not 0 < amount <= invoice.amount_due:
        due = f"{amount_text(invoice.amount_due, invoice.currency_code)} {invoice.currency_code}"
        raise ValueError(f"the amount must be more than zero and at most the {due} due")
    today = timezone.now().date()
    if not today <= promised_for <= today + LONGEST_PROMISE:
        raise ValueError(f"the date must be between today and {LONGEST_PROMISE.days} days ahead")
    money = f"{amount_text(amount, invoice.currency_code)} {invoice.currency_code}"
    reason = f"the customer promised to pay {money} by {promised_for:%Y-%m-%d}"
    with transaction.atomic():
        for earlier in PromiseToPay.objects.select_for_update().filter(
            invoice=invoice, status=PromiseToPay.Status.ACTIVE
        ):
            PromiseToPay.objects.filter(pk=earlier.pk).update(
                status=PromiseToPay.Status.WITHDRAWN, settled_at=timezone.now()
            )
            invoice_hold_release(hold=earlier.hold, reason="replaced by a newer promise", user=user)
        hold = invoice_hold_place(
            invoice=invoice,
            kind=InvoiceHold.Kind.PROMISE_TO_PAY,
            until=promise_day_end(promised_for),
            reason=reason,
            user=user,
        )
        promise = PromiseToPay.objects.create(
            case=case,
            invoice=invoice,
            amount=amount,
            currency=invoice.currency_code,
            promised_for=promised_for,
            amount_paid_before=invoice.amount_paid,
            hold=hold,
            created_by=user,
        )
        Case.objects.filter(pk=case.pk).update(state=CaseState.PROMISED, promise_broken_at=None)
        audit_record(
            action="case.promise_recorded",
            actor=user,
            target=case,
            data={
                "case": case.pk,
                "invoice": invoice.cb_id,
                "amount": amount,
                "currency": invoice.currency_code,
                "promised_for": promised_for.isoformat(),
                "reason": reason,
            },
        )
    case.state, case.promise_broken_at = CaseState.PROMISED, None
    return promise


@dataclass
class PromisesChecked:
    kept: int = 0
    broken: int = 0
    # (case id, invoice id) of broken promises whose invoice is still unpaid: to decide again.
    reopened: list[tuple[int, str]] = field(default_factory=list)


def _kept(promise: PromiseToPay, invoice: Invoice) -> bool:
    paid_since = invoice.amount_paid - promise.amount_paid_before
    return invoice.status not in UNPAID_STATUSES or paid_since >= promise.amount


def promises_settle(*, now: datetime | None = None) -> PromisesChecked:
    """Settle every active promise whose day is over, or whose invoice was paid meanwhile.

    A broken promise reopens its case; deciding again about its invoice is the caller's
    (``dunning.pipeline.promises``), as the decision sits outside the desk.
    """
    now = now or timezone.now()
    checked = PromisesChecked()
    active = PromiseToPay.objects.filter(status=PromiseToPay.Status.ACTIVE).select_related(
        "invoice", "hold", "case"
    )
    for promise in active.iterator():
        kept = _kept(promise, promise.invoice)
        if kept:
            checked.kept += _settle(promise=promise, status=PromiseToPay.Status.KEPT, now=now)
        elif promise_day_end(promise.promised_for) <= now:
            broken = _settle(promise=promise, status=PromiseToPay.Status.BROKEN, now=now)
            checked.broken += broken
            if broken and promise.invoice.status in UNPAID_STATUSES:
                checked.reopened.append((promise.case_id, promise.invoice.cb_id))
    return checked


def _settle(*, promise: PromiseToPay, status: str, now: datetime) -> int:
    with transaction.atomic():
        changed = PromiseToPay.objects.filter(
            pk=promise.pk, status=PromiseToPay.Status.ACTIVE
        ).update(status=status, settled_at=now)
        if not changed:
            return 0  # another run settled it first
        word = "kept" if status == PromiseToPay.Status.KEPT else "broken"
        invoice_hold_release(hold=promise.hold, reason=f"promise {word}")
        audit_record(
            action=f"case.promise_{word}",
            actor_label="dunwell",
            target=promise.case,
            data={
                "case": promise.case_id,
                "invoice": promise.invoice.cb_id,
                "amount": promise.amount,
                "promised_for": promise.promised_for.isoformat(),
                "why": f"promise to pay by {promise.promised_for:%Y-%m-%d} {word}",
            },
        )
        if status == PromiseToPay.Status.BROKEN:
            _case_reopen(promise=promise, now=now)
    return 1


def _case_reopen(*, promise: PromiseToPay, now: datetime) -> None:
    """Back in the queue, above where it was (a fresh decision then resumes the dunning)."""
    case = promise.case
    Case.objects.filter(pk=case.pk, state=CaseState.PROMISED).update(
        state=CaseState.IN_PROGRESS if case.assignee_id else CaseState.OPEN
    )
    Case.objects.filter(pk=case.pk).update(promise_broken_at=now)
    cases_priority_refresh(cases=Case.objects.filter(pk=case.pk), now=now)
