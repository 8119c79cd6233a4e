"""What each kind of action does in Chargebee and the channels, once it may run.

A performer returns the result to record (JSON: Chargebee ids, the transaction's status),
or raises ``Defer`` (try again later), ``Cancel`` (never run it), ``NotExecutable`` or the
SDK's ``APIError`` (failed, with Chargebee's message). A declined charge is not a failure
of the action: the retry was made, and the result says how the bank answered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from chargebee import APIError
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dunning.actions.channels import delivery
from dunning.actions.channels.survey_links import csat_link
from dunning.actions.execution import chargebee_writes as cb
from dunning.actions.holds import invoice_hold_place
from dunning.actions.offline.settle import invoice_payment_settle_on_commit
from dunning.decisions.enrichment import mirror_store
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.models import Action, ActionKind, InvoiceHold
from dunning.sync.chargebee_budget import Priority
from dunning.sync.chargebee_calls import ChargebeeUnavailable

DELIVERY_RETRY = timedelta(hours=1)  # a deferral that names no time
DECLINED = "payment_processing_failed"
# A plan's hold lasts a day past its last instalment, so the last collection can land.
PLAN_HOLD_AFTER_LAST = timedelta(days=1)


class Defer(Exception):
    def __init__(self, until: datetime, reason: str):
        super().__init__(reason)
        self.until, self.reason = until, reason


class Cancel(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotExecutable(Exception):
    """Dunwell does not carry out this kind of action itself."""


def _mirror(result: cb.WriteResult, *keys: str) -> None:
    # The page shows the new state at once; the webhook that follows changes nothing older.
    for key in keys:
        if obj := result.get(key):
            mirror_store(key=key, obj=obj)


def reasoning_link(action: Action) -> str:
    """Where Dunwell keeps the whole reasoning: the decision on the invoice's page."""
    path = reverse("dunning:invoice_decisions", args=[action.invoice_id])
    return f"{settings.PUBLIC_BASE_URL}{path}#decision-{action.decision_id}"


def refused(*, write: str, error: Exception) -> dict:
    """A secondary write Chargebee refused (or could not take), kept on the action's result
    so the page shows it with Chargebee's own message."""
    return {
        "write": write,
        "message": str(error),
        "api_error_code": getattr(error, "api_error_code", None) or "unavailable",
        "param": getattr(error, "param", None) or "",
    }


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "now"


def dunning_paused(invoice) -> bool:
    """Chargebee's paused dunning: still ``in_progress``, waiting for a future
    ``expected_payment_date`` (its enum has no "paused")."""
    until = invoice.expected_payment_date
    return invoice.dunning_status == "in_progress" and until is not None and until > timezone.now()


def take_over(action: Action, sleep) -> dict:
    invoice = action.invoice
    if dunning_paused(invoice):
        return {"dunning": "already paused", "until": invoice.expected_payment_date.isoformat()}
    # Paused until the end of Dunwell's window rather than stopped: if Dunwell stopped
    # working, Chargebee would try again then and its own dunning would carry on.
    started = parse_datetime(action.decision.features.get("first_failed_at") or "")
    window = timedelta(days=guardrails_active().dunning_window_days)
    until = max((started or action.decision.as_of) + window, timezone.now() + timedelta(days=1))
    result = cb.invoice_pause_dunning(
        invoice_id=invoice.cb_id,
        until=until,
        key=action.idempotency_key,
        sleep=sleep,
        comment=f"Dunwell takes over the retries of this invoice: {action.decision.reasoning}",
        link=reasoning_link(action),
    )
    _mirror(result, "invoice")
    return {"dunning": "paused", "until": until.isoformat(), "replayed": result.replayed}


def retry(action: Action, sleep) -> dict:
    # A person's "collect now" names an amount (partial leaves the invoice payment due);
    # Dunwell's own retries collect what is left to collect when they run.
    amount = action.params.get("amount") if action.decision.trigger == "manual" else None
    try:
        charged = cb.invoice_collect_payment(
            invoice_id=action.invoice_id, amount=amount, key=action.idempotency_key, sleep=sleep
        )
    except APIError as error:
        if getattr(error, "api_error_code", None) != DECLINED:
            raise
        result = {"charged": False, "declined": str(error), "api_error_code": DECLINED}
        outcome = f"declined ({error})"
    else:
        _mirror(charged, "invoice", "transaction")
        invoice_payment_settle_on_commit(invoice_id=action.invoice_id)
        txn, invoice = charged.get("transaction"), charged.get("invoice")
        result = {
            "charged": txn.get("status") == "success",
            "transaction_id": txn.get("id"),
            "transaction_status": txn.get("status"),
            "amount": txn.get("amount"),
            "invoice_status": invoice.get("status"),
            "replayed": charged.replayed,
        }
        outcome = f"{txn.get('status')}, invoice {invoice.get('status')}"
    notes = (
        f"Dunwell: retry scheduled for {_when(action.scheduled_for)} because "
        f"{action.reasoning or action.decision.reasoning} Result: {outcome}."
    )
    result.update(_comment(action=action, notes=notes, sleep=sleep))
    return result


def _comment(*, action: Action, notes: str, sleep) -> dict:
    """The reasoning on the invoice in Chargebee; a comment that fails loses no payment."""
    try:
        added = cb.invoice_comment_add(
            invoice_id=action.invoice_id,
            notes=notes,
            link=reasoning_link(action),
            key=f"{action.idempotency_key}-comment",
            sleep=sleep,
        )
    except (APIError, ChargebeeUnavailable) as error:
        return {"chargebee_refused": [refused(write="comment", error=error)]}
    return {"comment_id": added.get("comment").get("id")}


LINK_PAGES = {
    ActionKind.PAYMENT_METHOD_LINK: "update_payment_method",
    ActionKind.AUTHENTICATION_LINK: "collect_now",
    ActionKind.MESSAGE: "collect_now",
}


def message(action: Action, sleep) -> dict:
    if action.params.get("template") == "csat_survey":
        return _survey(action)
    page = LINK_PAGES[action.kind]
    # A fresh link per attempt: hosted pages expire after 5 days, deliveries may wait.
    url = cb.hosted_page_link(
        kind=page,
        customer_id=action.customer_id,
        sleep=sleep,
        key=f"{action.idempotency_key}-link-{action.attempts}",
    )
    sent = _delivered(action=action, links={"pay_link": url})
    return {"message_id": sent.message_id, "pay_link": url, "link_page": page}


def _survey(action: Action) -> dict:
    """The survey links to Dunwell's own signed answer page: nothing to ask Chargebee."""
    sent = _delivered(action=action, links={"survey_link": csat_link(action=action)})
    return {"message_id": sent.message_id, "survey": True}


def _delivered(*, action: Action, links: dict[str, str]) -> delivery.DeliveryResult:
    sent = delivery.message_deliver(action=action, links=links)
    if sent.status == "deferred":
        raise Defer(sent.retry_at or timezone.now() + DELIVERY_RETRY, f"delivery: {sent.reason}")
    if sent.status == "refused":
        raise Cancel(f"not sent: {sent.reason}")
    return sent


def nothing_to_call(action: Action, sleep) -> dict:
    # Escalations become cases on the collections desk; the others only record a choice.
    return {"done": action.get_kind_display()}


def stop_dunning(action: Action, sleep) -> dict:
    result = cb.invoice_stop_dunning(
        invoice_id=action.invoice_id,
        key=action.idempotency_key,
        sleep=sleep,
        comment=f"Dunwell, end of dunning: left unpaid. {action.reasoning}",
        link=reasoning_link(action),
    )
    _mirror(result, "invoice")
    return {"invoice_status": result.get("invoice").get("status"), "replayed": result.replayed}


def write_off(action: Action, sleep) -> dict:
    return _close(action, sleep, cb.invoice_write_off, "written off")


def void(action: Action, sleep) -> dict:
    return _close(action, sleep, cb.invoice_void, "voided")


def _close(action: Action, sleep, write: Callable, what: str) -> dict:
    result = write(
        invoice_id=action.invoice_id,
        key=action.idempotency_key,
        sleep=sleep,
        comment=f"Dunwell, end of dunning: {what}. {action.reasoning}",
        link=reasoning_link(action),
    )
    _mirror(result, "invoice")
    return {
        "invoice_status": result.get("invoice").get("status"),
        "credit_note_id": result.get("credit_note").get("id"),
        "replayed": result.replayed,
    }


def cancel_subscription(action: Action, sleep) -> dict:
    subscription_id = action.invoice.subscription_id
    if not subscription_id:
        raise NotExecutable("the invoice belongs to no subscription")
    result = cb.subscription_cancel(
        subscription_id=subscription_id,
        key=action.idempotency_key,
        sleep=sleep,
        reason_code=settings.CHARGEBEE_CANCEL_REASON_CODE,
    )
    _mirror(result, "subscription")
    return {
        "subscription_id": subscription_id,
        "subscription_status": result.get("subscription").get("status"),
        "replayed": result.replayed,
    }


def record_payment(action: Action, sleep) -> dict:
    params = action.params
    paid_on = date.fromisoformat(params["paid_on"])
    paid_at = datetime(paid_on.year, paid_on.month, paid_on.day, 12, tzinfo=UTC)
    result = cb.invoice_record_payment(
        invoice_id=action.invoice_id,
        amount=params["amount"],
        paid_at=paid_at,
        method=params["method"],
        reference=params.get("reference", ""),
        comment=f"Recorded in Dunwell: {action.reasoning}",
        key=action.idempotency_key,
        link=reasoning_link(action),
        sleep=sleep,
    )
    _mirror(result, "invoice", "transaction")
    invoice_payment_settle_on_commit(invoice_id=action.invoice_id)
    return {
        "transaction_id": result.get("transaction").get("id"),
        "invoice_status": result.get("invoice").get("status"),
        "replayed": result.replayed,
    }


def payment_plan(action: Action, sleep) -> dict:
    """A scheme for this plan, applied to the invoice; Chargebee then collects each part.

    Both writes carry keys derived from the action, so a re-run replays Chargebee's first
    answers (the same scheme, applied once). Dunwell's own retries and messages are held
    until a day after the last instalment (``invoice_hold_place``).
    """
    params = action.params
    scheme = cb.payment_schedule_scheme_create(
        name=f"Dunwell plan {action.pk}: {params['instalments']} x {params['period']} "
        f"{params['period_unit']}",
        number_of_schedules=params["instalments"],
        period_unit=params["period_unit"],
        period=params["period"],
        key=f"{action.idempotency_key}-scheme",
        sleep=sleep,
    )
    scheme_id = scheme.get("payment_schedule_scheme")["id"]
    applied = cb.invoice_apply_payment_schedule_scheme(
        invoice_id=action.invoice_id,
        scheme_id=scheme_id,
        amount=params["amount"],
        key=action.idempotency_key,
        sleep=sleep,
    )
    _mirror(applied, "invoice")
    schedules = cb.invoice_payment_schedules(
        invoice_id=action.invoice_id, priority=Priority.EXECUTE, sleep=sleep
    )
    schedule = next((s for s in schedules if s.get("scheme_id") == scheme_id), None)
    if schedule is None:
        raise NotExecutable("Chargebee shows no payment schedule from the scheme it applied")
    entries = schedule.get("schedule_entries") or []
    last = max((entry["date"] for entry in entries), default=int(timezone.now().timestamp()))
    until = datetime.fromtimestamp(last, tz=UTC) + PLAN_HOLD_AFTER_LAST
    held = InvoiceHold.objects.filter(
        invoice_id=action.invoice_id, until=until, kind=InvoiceHold.Kind.PAYMENT_PLAN
    )
    if not held.exists():  # a re-run after a crash: the first run placed it
        invoice_hold_place(
            invoice=action.invoice,
            kind=InvoiceHold.Kind.PAYMENT_PLAN,
            until=until,
            reason=f"the invoice is on a payment plan of {len(entries)} instalments",
            user=action.decided_by,
        )
    return {"scheme_id": scheme_id, "payment_schedule": schedule, "replayed": applied.replayed}


def not_ours(action: Action, sleep) -> dict:
    raise NotExecutable(f"Dunwell does not carry out a {action.get_kind_display().lower()}")


PERFORMERS: dict[str, Callable[[Action, Callable], dict]] = {
    ActionKind.TAKE_OVER: take_over,
    ActionKind.RETRY: retry,
    ActionKind.MESSAGE: message,
    ActionKind.PAYMENT_METHOD_LINK: message,
    ActionKind.AUTHENTICATION_LINK: message,
    ActionKind.ESCALATE: nothing_to_call,
    ActionKind.KEEP_CHARGEBEE_SCHEDULE: nothing_to_call,
    ActionKind.GATEWAY_PAUSE: nothing_to_call,
    ActionKind.STOP_DUNNING: stop_dunning,
    ActionKind.WRITE_OFF: write_off,
    ActionKind.VOID: void,
    ActionKind.CANCEL_SUBSCRIPTION: cancel_subscription,
    ActionKind.RECORD_PAYMENT: record_payment,
    ActionKind.PAYMENT_PLAN: payment_plan,
    ActionKind.REFUND: not_ours,
    ActionKind.OFFER: not_ours,
}


def perform(*, action: Action, sleep) -> dict:
    return PERFORMERS[action.kind](action, sleep)
