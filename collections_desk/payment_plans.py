"""Payment plans: an unpaid invoice split into instalments Chargebee collects on their dates.

An agent proposes a plan on the case; it becomes a ``payment_plan`` action under the usual
approval rules (the kind always needs a manager, who approves exactly the instalments
shown). The executor writes it to Chargebee through the SDK (a payment schedule scheme,
applied to the invoice) and holds Dunwell's own retries and messages until the last
instalment. ``payment_plans_track`` (periodic, safe to run twice) follows the action's
outcome and then each instalment's status as Chargebee reports it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from collections_desk.cases import UNPAID_STATUSES, case_require_work
from collections_desk.manual_collection import manual_request_create
from collections_desk.models import Case, PaymentPlan, PlanInstalment
from dunning.actions.execution.chargebee_writes import invoice_payment_schedules
from dunning.actions.holds import invoice_hold_release
from dunning.helpers.money import amount_text
from dunning.models import ActionKind, ActionState, Invoice, InvoiceHold

# Chargebee's limits per period unit: number of schedules, and the period between them.
MAX_INSTALMENTS = {"day": 30, "week": 52, "month": 12}
MAX_PERIOD = {"day": 30, "week": 6, "month": 6}
UNIT_WORDS = {"day": "day", "week": "week", "month": "month"}


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: date
    amount: int


def _step(start: date, *, unit: str, steps: int) -> date:
    if unit == "day":
        return start + timedelta(days=steps)
    if unit == "week":
        return start + timedelta(weeks=steps)
    month = start.month - 1 + steps
    year, month = start.year + month // 12, month % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


def plan_instalments(
    *, amount: int, instalments: int, period: int, unit: str, start: date
) -> list[Instalment]:
    """The split Chargebee makes: equal parts, the remainder on the last; the first today."""
    part, rest = divmod(amount, instalments)
    return [
        Instalment(
            number=n + 1,
            due_on=_step(start, unit=unit, steps=n * period),
            amount=part + (rest if n == instalments - 1 else 0),
        )
        for n in range(instalments)
    ]


def plan_described(
    *, invoice: Invoice, instalments: list[Instalment], period: int, unit: str
) -> str:
    currency = invoice.currency_code
    every = f"every {UNIT_WORDS[unit]}" if period == 1 else f"every {period} {unit}s"
    parts = "; ".join(f"{i.due_on:%d %b %Y} {amount_text(i.amount, currency)}" for i in instalments)
    total = sum(i.amount for i in instalments)
    return (
        f"Split {invoice.cb_id} ({amount_text(total, currency)} {currency} due) into "
        f"{len(instalments)} instalments, {every}: {parts} {currency}. Chargebee collects "
        "each on its date; Dunwell holds its own retries and messages until the last."
    )


def payment_plan_propose(
    *, case: Case, user, invoice: Invoice, instalments: int, period: int, unit: str
) -> PaymentPlan:
    """Propose the plan: it waits for a manager's approval in the inbox."""
    case_require_work(user=user, case=case)
    if not case.invoices.filter(pk=invoice.pk, status__in=UNPAID_STATUSES).exists():
        raise ValueError(f"{invoice.cb_id} is not an unpaid invoice of this case")
    if invoice.status != "payment_due":
        raise ValueError(
            f"Chargebee splits only an invoice in payment due; {invoice.cb_id} is {invoice.status}"
        )
    if unit not in MAX_INSTALMENTS:
        raise ValueError("instalments come every few days, weeks or months")
    if not 2 <= instalments <= MAX_INSTALMENTS[unit]:
        raise ValueError(f"between 2 and {MAX_INSTALMENTS[unit]} instalments by {unit}")
    if not 1 <= period <= MAX_PERIOD[unit]:
        raise ValueError(f"the gap between instalments is 1 to {MAX_PERIOD[unit]} {unit}s")
    if PaymentPlan.objects.filter(
        invoice=invoice, status__in=(PaymentPlan.Status.PROPOSED, PaymentPlan.Status.ACTIVE)
    ).exists():
        raise ValueError(f"{invoice.cb_id} already has a payment plan")
    amount = invoice.amount_due
    split = plan_instalments(
        amount=amount,
        instalments=instalments,
        period=period,
        unit=unit,
        start=timezone.now().date(),
    )
    reasoning = f"{user.get_username()} proposes a payment plan. " + plan_described(
        invoice=invoice, instalments=split, period=period, unit=unit
    )
    with transaction.atomic():
        outcome = manual_request_create(
            invoice=invoice,
            user=user,
            kind=ActionKind.PAYMENT_PLAN,
            amount=amount,
            self_approve=False,
            reasoning=reasoning,
            approval_reason="a payment plan changes how the invoice is collected: a manager "
            "approves the instalments shown",
            params={
                "instalments": instalments,
                "period": period,
                "period_unit": unit,
                "amount": amount,
                "currency": invoice.currency_code,
                "preview": [{"due_on": i.due_on.isoformat(), "amount": i.amount} for i in split],
            },
        )
        return PaymentPlan.objects.create(
            case=case,
            invoice=invoice,
            action=outcome.action,
            amount=amount,
            currency=invoice.currency_code,
            instalments=instalments,
            period=period,
            period_unit=unit,
            proposed_by=user,
        )


# --- following the plan ----------------------------------------------------------------
_ENDED = {
    ActionState.REJECTED: PaymentPlan.Status.REJECTED,
    ActionState.FAILED: PaymentPlan.Status.FAILED,
    ActionState.CANCELLED: PaymentPlan.Status.CANCELLED,
}


def _entries_store(*, plan: PaymentPlan, schedule: dict) -> bool:
    """Upsert the schedule's entries; True when every one is paid."""
    entries = schedule.get("schedule_entries") or []
    for number, entry in enumerate(sorted(entries, key=lambda e: (e["date"], e["id"])), 1):
        PlanInstalment.objects.update_or_create(
            plan=plan,
            cb_entry_id=entry["id"],
            defaults={
                "number": number,
                "amount": entry["amount"],
                "status": entry["status"],
                "due_at": datetime.fromtimestamp(entry["date"], tz=UTC),
            },
        )
    return bool(entries) and all(entry["status"] == "paid" for entry in entries)


def _complete(plan: PaymentPlan) -> None:
    PaymentPlan.objects.filter(pk=plan.pk).update(status=PaymentPlan.Status.COMPLETED)
    for hold in InvoiceHold.objects.filter(
        invoice_id=plan.invoice.cb_id, released_at=None, kind=InvoiceHold.Kind.PAYMENT_PLAN
    ):
        invoice_hold_release(hold=hold, reason="every instalment is paid")


def payment_plans_track(*, now: datetime | None = None) -> dict[str, int]:
    """Follow each proposed plan's action, then each active plan's instalments in Chargebee."""
    now = now or timezone.now()
    counts = {"started": 0, "ended": 0, "synced": 0, "completed": 0}
    proposed = PaymentPlan.objects.filter(status=PaymentPlan.Status.PROPOSED)
    for plan in proposed.select_related("action", "invoice"):
        action = plan.action
        if action.state in _ENDED:
            counts["ended"] += PaymentPlan.objects.filter(
                pk=plan.pk, status=PaymentPlan.Status.PROPOSED
            ).update(status=_ENDED[action.state])
        elif action.state == ActionState.EXECUTED:
            schedule = action.result.get("payment_schedule") or {}
            started = PaymentPlan.objects.filter(pk=plan.pk, status=PaymentPlan.Status.PROPOSED)
            with transaction.atomic():
                if started.update(
                    status=PaymentPlan.Status.ACTIVE,
                    synced_at=now,
                    scheme_id=action.result.get("scheme_id", ""),
                    schedule_id=schedule.get("id", ""),
                ):
                    plan.schedule_id = schedule.get("id", "")
                    _entries_store(plan=plan, schedule=schedule)
                    counts["started"] += 1
    for plan in PaymentPlan.objects.filter(status=PaymentPlan.Status.ACTIVE).select_related(
        "invoice"
    ):
        schedules = invoice_payment_schedules(invoice_id=plan.invoice.cb_id)
        schedule = next((s for s in schedules if s.get("id") == plan.schedule_id), None)
        if schedule is None:
            continue
        with transaction.atomic():
            paid_up = _entries_store(plan=plan, schedule=schedule)
            PaymentPlan.objects.filter(pk=plan.pk).update(synced_at=now)
            counts["synced"] += 1
            if paid_up:
                _complete(plan)
                counts["completed"] += 1
    return counts
