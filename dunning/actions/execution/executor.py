"""Running one scheduled action: claim it, check it may still run, carry it out, record it.

Safe to run twice or at once: a conditional UPDATE claims the action (one worker wins), and
every Chargebee write carries an idempotency key derived from the action, so a worker that
died after Chargebee answered is replayed Chargebee's first answer, never charged again.
A claim older than ``CLAIM_TIMEOUT`` belongs to a dead worker; the sweep runs it again.

Before acting, what held when the action was scheduled is checked again: the invoice is
still unpaid in the mirror, its segment is not in shadow mode now, whoever approved it may
still approve it and it is exactly what they approved, and its gateway is not paused.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from datetime import datetime, timedelta
from enum import StrEnum

from chargebee import APIError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dunning.actions.execution.enqueue import action_enqueue_on_commit
from dunning.actions.execution.performers import Cancel, Defer, NotExecutable, perform
from dunning.actions.holds import HELD_KINDS
from dunning.actions.state_machine import (
    ActionConflict,
    action_approval_holds,
    action_may_approve,
    action_transition,
)
from dunning.decisions.approval_rules import NO_APPROVAL_KINDS
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.policy_settings.segments import segment_name
from dunning.decisions.rules.gateway_pauses import gateway_paused
from dunning.decisions.rules.holds import invoice_hold_active
from dunning.governance.audit import audit_record
from dunning.models import (
    ALWAYS_NEEDS_APPROVAL,
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    Decision,
)
from dunning.sync.chargebee_calls import ChargebeeUnavailable

logger = logging.getLogger("dunwell.execution")

ACTOR = "dunwell executor"
CLAIM_TIMEOUT = timedelta(minutes=15)  # longer than a job may run (enqueue.JOB_TIMEOUT)
GATEWAY_RECHECK = timedelta(minutes=30)
RUNNABLE_MODES = (AutomationMode.APPROVE, AutomationMode.AUTO)
OPEN_STATUSES = ("payment_due", "not_paid", "posted")
# Writes Chargebee refuses on a paid or voided invoice: calling again is only ever a replay.
REPLAYABLE = frozenset(
    {
        ActionKind.RETRY,
        ActionKind.RECORD_PAYMENT,
        ActionKind.TAKE_OVER,
        ActionKind.STOP_DUNNING,
        ActionKind.WRITE_OFF,
        ActionKind.VOID,
        ActionKind.PAYMENT_PLAN,
    }
)


class Outcome(StrEnum):
    EXECUTED = "executed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEFERRED = "deferred"
    BACK_TO_APPROVAL = "back to approval"
    NOT_CLAIMED = "not claimed"  # not due, not scheduled, or another worker has it


def unavailable_backoff(attempts: int) -> timedelta:
    """After Chargebee stayed unavailable: 5 min, 10, 20 … at most 6 hours."""
    return min(timedelta(minutes=5) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


def due_filter(now: datetime) -> Q:
    not_postponed = Q(next_attempt_at__isnull=True) & (
        Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now)
    )
    return Q(next_attempt_at__lte=now) | not_postponed


def free_filter(now: datetime) -> Q:
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_TIMEOUT)


def action_claim(*, action_id: int, now: datetime) -> Action | None:
    claimable = Action.objects.filter(
        pk=action_id, state=ActionState.SCHEDULED, mode__in=RUNNABLE_MODES
    ).filter(due_filter(now), free_filter(now))
    if claimable.update(claimed_at=now, attempts=F("attempts") + 1) != 1:
        return None
    return Action.objects.select_related("decision", "invoice", "customer", "decided_by").get(
        pk=action_id
    )


def action_run(*, action_id: int, sleep=time.sleep) -> Outcome:
    """Run one action if it is due and nobody else is running it; safe to call any time."""
    now = timezone.now()
    action = action_claim(action_id=action_id, now=now)
    if action is None:
        return Outcome.NOT_CLAIMED
    closed = action.invoice.status not in OPEN_STATUSES
    try:
        if stop := _still_allowed(action=action, now=now):
            return stop
        result = perform(action=action, sleep=sleep)
    except Defer as defer:
        return _defer(action=action, until=defer.until, reason=defer.reason)
    except Cancel as cancel:
        return _cancel(action=action, reason=cancel.reason)
    except ChargebeeUnavailable as error:
        return _defer(
            action=action, until=now + unavailable_backoff(action.attempts), reason=str(error)
        )
    except APIError as error:
        if closed:  # the replay found nothing of ours: Chargebee refuses a closed invoice
            reason = f"the invoice was {action.invoice.status} meanwhile"
            return _cancel(action=action, reason=reason)
        return _fail(action=action, error=error)
    except NotExecutable as error:
        return _fail(action=action, error=error)
    except Exception as error:
        # A bug or the database going away: put it back for later rather than lose it; the
        # idempotency keys make the re-run safe. Re-raised so the job shows as failed.
        _defer(action=action, until=now + unavailable_backoff(action.attempts), reason=repr(error))
        raise
    return _finish(action=action, result=result)


# --- the checks ----------------------------------------------------------------------
def _still_allowed(*, action: Action, now: datetime) -> Outcome | None:
    invoice = action.invoice
    # Closed since: cancel, unless an earlier run may have reached Chargebee (it may be what
    # paid the invoice); then the same idempotent call tells what that run did.
    earlier_run = action.attempts > 1 and action.kind in REPLAYABLE
    # A satisfaction survey is sent because the invoice was paid; a pre-dunning card update
    # hangs on the last renewal's (paid) invoice because the next one does not exist yet.
    after_payment = action.params.get("template") in ("csat_survey", "pre_dunning_card_update")
    if invoice.status not in OPEN_STATUSES and not (earlier_run or after_payment):
        return _cancel(
            action=action, reason=f"the invoice was {invoice.status or 'closed'} meanwhile"
        )
    manual = action.decision.trigger == Decision.Trigger.MANUAL
    if not manual:
        # People asking for an action on an invoice are not automation: shadow mode and
        # the automation mode of the segment govern what Dunwell decides by itself.
        mode = guardrails_active().mode_for(action.decision.segment)
        if mode == AutomationMode.SHADOW:
            return _cancel(
                action=action,
                reason=f"segment {segment_name(action.decision.segment)} is in shadow mode now: "
                "only logged",
            )
        if (
            mode == AutomationMode.APPROVE
            and action.decided_by_id is None
            and action.kind not in NO_APPROVAL_KINDS
        ):
            return _back_to_approval(
                action=action,
                reason=f"segment {segment_name(action.decision.segment)} is in approve mode now",
            )
        # A survey follows a payment: nothing a promise or a plan holds back.
        held = action.kind in HELD_KINDS and action.params.get("template") != "csat_survey"
        if held and (hold := invoice_hold_active(invoice_id=action.invoice_id, at=now)):
            return _defer(action=action, until=hold.until, reason=f"held: {hold.reason}")
    needs_person = (
        action.needs_approval
        or action.risk == Action.Risk.HIGH
        or action.kind in ALWAYS_NEEDS_APPROVAL
    )
    approver = action.decided_by
    if approver is not None:
        replay = action.attempts > 1 and action.kind in REPLAYABLE
        allowed, why = action_may_approve(action=action, user=approver, replay=replay)
        if not (allowed and approver.is_active):
            why = why if approver.is_active else "their account is disabled"
            return _back_to_approval(
                action=action,
                reason=f"{approver.get_username()}'s approval no longer counts: {why}",
            )
        if not action_approval_holds(action, replay=replay):
            return _back_to_approval(action=action, reason="it changed after it was approved")
    elif needs_person:
        return _back_to_approval(action=action, reason="it needs a permitted person's approval")
    if action.kind == ActionKind.RETRY:
        gateway = action.decision.features.get("gateway") or ""
        if gateway and gateway_paused(gateway=gateway, at=now):
            return _defer(
                action=action,
                until=now + GATEWAY_RECHECK,
                reason=f"retries on {gateway} are paused: the gateway looks down",
            )
    return None


# --- recording the outcome -----------------------------------------------------------
def _finish(*, action: Action, result: dict) -> Outcome:
    try:
        action_transition(
            action=action,
            to=ActionState.EXECUTED,
            actor_label=ACTOR,
            result=result,
            claimed_at=None,
            last_error="",
            data={"result": result, "attempt": action.attempts},
        )
    except ActionConflict:
        # Cancelled while Chargebee was being called (a payment arrived): what was done in
        # Chargebee is still recorded, so nobody wonders where a charge came from.
        logger.warning("action %s done in Chargebee after it was cancelled", action.pk)
        audit_record(
            action="action.done_after_cancel",
            actor_label=ACTOR,
            target=action,
            data={"invoice": action.invoice_id, "kind": action.kind, "result": result},
        )
        Action.objects.filter(pk=action.pk).update(claimed_at=None, result=result)
    return Outcome.EXECUTED


def _fail(*, action: Action, error: Exception) -> Outcome:
    result = {
        "error": str(error) or error.__class__.__name__,
        "api_error_code": getattr(error, "api_error_code", None),
        "http_status": getattr(error, "http_status_code", None),
    }
    with suppress(ActionConflict):  # cancelled meanwhile; nothing was done
        action_transition(
            action=action,
            to=ActionState.FAILED,
            actor_label=ACTOR,
            result=result,
            claimed_at=None,
            last_error=result["error"],
            data={"reason": result["error"]},
        )
    return Outcome.FAILED


def _cancel(*, action: Action, reason: str) -> Outcome:
    with suppress(ActionConflict):
        action_transition(
            action=action,
            to=ActionState.CANCELLED,
            actor_label=ACTOR,
            result={"cancelled": reason},
            claimed_at=None,
            data={"reason": reason},
        )
    return Outcome.CANCELLED


def _back_to_approval(*, action: Action, reason: str) -> Outcome:
    with suppress(ActionConflict):
        action_transition(
            action=action,
            to=ActionState.PROPOSED,
            actor_label=ACTOR,
            claimed_at=None,
            decided_by=None,
            decided_at=None,
            approved_fingerprint="",
            needs_approval=True,
            approval_reason=f"approve again: {reason}"[:300],
            data={"reason": reason},
        )
    return Outcome.BACK_TO_APPROVAL


def _defer(*, action: Action, until: datetime, reason: str) -> Outcome:
    """Still scheduled, tried again at ``until``: nothing is lost, nothing runs twice."""
    with transaction.atomic():
        moved = Action.objects.filter(pk=action.pk, state=ActionState.SCHEDULED).update(
            claimed_at=None, next_attempt_at=until, last_error=reason
        )
        if moved:
            audit_record(
                action="action.deferred",
                actor_label=ACTOR,
                target=action,
                data={
                    "invoice": action.invoice_id,
                    "kind": action.kind,
                    "until": until,
                    "reason": reason,
                    "attempt": action.attempts,
                },
            )
            action_enqueue_on_commit(action_id=action.pk)
    return Outcome.DEFERRED
