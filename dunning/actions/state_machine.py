"""An action's life: proposed -> approved/rejected -> scheduled -> executed/failed.

Every change is a conditional UPDATE on the expected state (two people approving at once:
one wins, the other is told), recorded in the audit trail. Approving checks the approver's
permission here, not only in a page, and binds the approval to exactly what was shown.
Approval rules: high-risk and always-approved kinds need a manager; agents approve only on
their team's cases; nobody approves their own edit; at or above TWO_APPROVERS_FROM_AMOUNT
two different people approve the same fingerprint before the action is scheduled.
It runs past 400 lines on purpose: every way an action changes state is here, so one file
shows them all and none can skip the conditional UPDATE or the audit entry.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from dunning.actions.channels.drafting import PLACEHOLDERS
from dunning.actions.execution.enqueue import action_enqueue_on_commit
from dunning.actions.words import action_shown_text
from dunning.governance.audit import audit_record
from dunning.governance.reach import action_work_refusal
from dunning.helpers.errors import ApplicationConflict
from dunning.helpers.message_text import PLACEHOLDER
from dunning.models import (
    ALWAYS_NEEDS_APPROVAL,
    Action,
    ActionApproval,
    ActionKind,
    ActionState,
    AutomationMode,
    Channel,
    Invoice,
    OutboundMessage,
)

S = ActionState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PROPOSED: frozenset({S.APPROVED, S.REJECTED, S.SCHEDULED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.CANCELLED}),
    # Back to proposed: the executor found its approval no longer holds (the approver lost
    # the permission, or the action changed); it waits for a fresh approval.
    S.SCHEDULED: frozenset({S.EXECUTED, S.FAILED, S.CANCELLED, S.PROPOSED}),
    S.FAILED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.EXECUTED: frozenset(),
    S.CANCELLED: frozenset(),
}
PENDING_STATES = (S.PROPOSED, S.APPROVED, S.SCHEDULED)


class ActionConflict(ApplicationConflict):
    """The action is no longer in the state the caller expected (someone else acted)."""


class ApprovalOutdated(ActionConflict):
    """The action changed after the person looked at it: it must be looked at again."""


def invoice_amount(action: Action) -> tuple[int, str] | None:
    """The amount due on the action's invoice now, and its currency."""
    if Action.invoice.is_cached(action):  # loaded with the action (a page of cards)
        return action.invoice.amount_due, action.invoice.currency_code
    return (
        Invoice.objects.filter(cb_id=action.invoice_id)
        .values_list("amount_due", "currency_code")
        .first()
    )


def action_fingerprint(action: Action, *, amount: tuple[int, str] | None = None) -> str:
    """What an approval binds: the action, its invoice and amount, when, where and what it
    says (``params`` holds the drafted or edited text). Any change asks for approval again.

    ``amount``: the invoice's amount as it was shown, for a replay whose first run may have
    collected it already (that run's own effect is no change to what was approved)."""
    shown = {
        "action": action.pk,
        "invoice": action.invoice_id,
        "amount_due": list(amount or invoice_amount(action) or ()),
        "kind": action.kind,
        "scheduled_for": action.scheduled_for,
        "channel": action.channel,
        "params": action.params,
    }
    encoded = json.dumps(shown, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return hashlib.sha256(encoded).hexdigest()


def action_transition(
    *,
    action: Action,
    to: str,
    actor=None,
    actor_label: str = "",
    data: dict | None = None,
    **fields,
) -> Action:
    """Move ``action`` from its current state to ``to``, or raise ActionConflict."""
    source = action.state
    if to not in TRANSITIONS[source]:
        raise ActionConflict(f"a {source} action cannot become {to}")
    now = timezone.now()
    with transaction.atomic():
        changed = Action.objects.filter(pk=action.pk, state=source).update(
            state=to, state_changed_at=now, **fields
        )
        if changed != 1:
            raise ActionConflict(f"action {action.pk} is no longer {source}")
        audit_record(
            action=f"action.{to}",
            actor=actor,
            actor_label=actor_label,
            target=action,
            data={
                "from": source,
                "to": to,
                "kind": action.kind,
                "invoice": action.invoice_id,
                **(data or {}),
            },
        )
        if to == S.SCHEDULED and action.mode != AutomationMode.SHADOW:
            action_enqueue_on_commit(action_id=action.pk)
    action.state, action.state_changed_at = to, now
    for name, value in fields.items():
        setattr(action, name, value)
    return action


# What a person may change before approving: the message and when/where it goes.
EDITABLE_KINDS = frozenset(
    {ActionKind.MESSAGE, ActionKind.PAYMENT_METHOD_LINK, ActionKind.AUTHENTICATION_LINK}
)
CHANNELS = tuple(Channel.values)
MESSAGE_MAX_CHARS = 4000


def approvers_needed(action: Action) -> int:
    """Two different people at or above ``TWO_APPROVERS_FROM_AMOUNT`` (minor units), else one."""
    threshold = getattr(settings, "TWO_APPROVERS_FROM_AMOUNT", None)
    if threshold is None:
        return 1
    amount = Invoice.objects.filter(cb_id=action.invoice_id).values_list("amount_due", flat=True)
    return 2 if (amount.first() or 0) >= threshold else 1


def _refusal(*, action: Action, user, approving: bool) -> str:
    """Why ``user`` may not decide about ``action`` ("" if they may)."""
    if action.mode == AutomationMode.SHADOW:
        return "shadow-mode actions are only logged; they are never run"
    if user is None:
        return "" if not action.needs_approval else "a person must approve this action"
    if not user.has_perm("dunning.approve_action"):
        return "you may not approve actions"
    if (action.risk == Action.Risk.HIGH or action.kind in ALWAYS_NEEDS_APPROVAL) and not (
        user.has_perm("dunning.approve_high_risk_action")
    ):
        return "high-risk and high-value actions need a manager"
    if approving and action.edited_by_id is not None and action.edited_by_id == user.pk:
        return "you edited this action; someone else must approve it"
    # Team rights live with the collections desk, asked through the authentication backends
    # so that the executor, which calls action_may_approve before running, enforces them too.
    return action_work_refusal(user=user, action=action)


def approved_amount(action: Action) -> tuple[int, str] | None:
    """The invoice amount the approval of ``action`` was given for."""
    row = (
        ActionApproval.objects.filter(action=action, fingerprint=action.approved_fingerprint)
        .exclude(shown_amount_due=None)
        .values_list("shown_amount_due", "shown_currency")
        .first()
    )
    return tuple(row) if row else None


def action_approval_holds(action: Action, *, replay: bool = False) -> bool:
    """Whether ``action`` is still what was approved (``replay``: against the amount shown)."""
    amount = approved_amount(action) if replay else None
    return action.approved_fingerprint == action_fingerprint(action, amount=amount)


def _approvals_missing(action: Action, *, replay: bool = False) -> str:
    """For an approved or scheduled action: does its approval still hold?"""
    if not action_approval_holds(action, replay=replay):
        return "the action changed after it was approved; it must be approved again"
    approvers = (
        ActionApproval.objects.filter(action=action, fingerprint=action.approved_fingerprint)
        .exclude(user_id=action.edited_by_id)
        .values("user_id")
        .distinct()
        .count()
    )
    if approvers < approvers_needed(action):
        return "this amount needs two different approvers"
    return ""


def action_may_approve(*, action: Action, user, replay: bool = False) -> tuple[bool, str]:
    """Whether ``user`` may approve ``action``, and if not, why (shown to them).

    For an action already approved (the executor asks before running it, with the
    approver, or None for an action that needs no approval) it also checks that the
    approval still holds: same fingerprint, enough different approvers.
    """
    why = _refusal(action=action, user=user, approving=True)
    if not why and action.needs_approval and action.state in (S.APPROVED, S.SCHEDULED):
        why = _approvals_missing(action, replay=replay)
    return (not why), why


def action_approve(*, action: Action, user, fingerprint: str) -> Action:
    """Record ``user``'s approval of exactly what they were shown (``fingerprint``).

    Once enough different people approved the same fingerprint, the action is approved and
    scheduled; until then it stays proposed and shows who approved it.
    """
    allowed, why = action_may_approve(action=action, user=user)
    if not allowed:
        raise PermissionDenied(why)
    if fingerprint != action_fingerprint(action):
        raise ApprovalOutdated("the action changed since it was shown; review it again")
    with transaction.atomic():
        current = Action.objects.select_for_update().get(pk=action.pk)
        if current.state != S.PROPOSED:
            raise ActionConflict(f"action {action.pk} is no longer {S.PROPOSED}")
        if action_fingerprint(current) != fingerprint:
            raise ApprovalOutdated("the action changed since it was shown; review it again")
        _, created = ActionApproval.objects.get_or_create(
            action=current,
            user=user,
            fingerprint=fingerprint,
            defaults={
                "shown_text": action_shown_text(current),
                "shown_amount_due": (invoice_amount(current) or (None, ""))[0],
                "shown_currency": (invoice_amount(current) or (None, ""))[1] or "",
            },
        )
        if not created:
            raise PermissionDenied("you already approved this; a second, different person must")
        approvers = list(
            ActionApproval.objects.filter(action=current, fingerprint=fingerprint)
            .values_list("user__username", flat=True)
            .distinct()
        )
        needed = approvers_needed(current)
        if len(approvers) < needed:
            audit_record(
                action="action.approval_recorded",
                actor=user,
                target=current,
                data={"approvers": approvers, "needed": needed, "fingerprint": fingerprint},
            )
            return current
        action_transition(
            action=action,
            to=S.APPROVED,
            actor=user,
            decided_by=user,
            decided_at=timezone.now(),
            approved_fingerprint=fingerprint,
            data={"approvers": approvers} if needed > 1 else None,
        )
        action_transition(action=action, to=S.SCHEDULED, actor=user)
    return action


def action_reject(*, action: Action, user, reason: str) -> Action:
    why = _refusal(action=action, user=user, approving=False)
    if why:
        raise PermissionDenied(why)
    if not reason.strip():
        raise ValueError("say why the action is rejected")
    return action_transition(
        action=action,
        to=S.REJECTED,
        actor=user,
        decided_by=user,
        decided_at=timezone.now(),
        rejection_reason=reason.strip(),
        data={"reason": reason},
    )


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _check_placeholders(text: str) -> None:
    """Only the placeholders Dunwell fills in may appear (delivery would refuse the rest)."""
    unknown = sorted(set(PLACEHOLDER.findall(text)) - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise ValueError(
            f"unknown placeholder {', '.join('{' + u + '}' for u in unknown)}: use {known}"
        )


def action_edit(
    *,
    action: Action,
    user,
    fingerprint: str,
    text: str,
    channel: str,
    scheduled_for: datetime | None,
) -> Action:
    """Change a proposed message's text, channel or time; someone else then approves it.

    The text goes to ``params["message_text"]``, which delivery sends instead of a draft.
    The change alters the fingerprint, so approvals given before it no longer count.
    """
    why = _refusal(action=action, user=user, approving=False)
    if why:
        raise PermissionDenied(why)
    if action.kind not in EDITABLE_KINDS:
        raise ValueError("only messages and links can be edited")
    if channel not in CHANNELS:
        raise ValueError(f"the channel must be one of {', '.join(CHANNELS)}")
    text = text.strip()
    if len(text) > MESSAGE_MAX_CHARS:
        raise ValueError(f"a message has at most {MESSAGE_MAX_CHARS} characters")
    _check_placeholders(text)
    if _same_minute(scheduled_for, action.scheduled_for):
        scheduled_for = action.scheduled_for  # a form shows minutes: unchanged is unchanged
    elif scheduled_for and scheduled_for < timezone.now():
        raise ValueError("the new time is in the past")
    params = (
        {**action.params, "message_text": text}
        if text
        else {k: v for k, v in action.params.items() if k != "message_text"}
    )
    if channel != (action.channel or Channel.EMAIL):
        params.pop("draft", None)  # drafted for the old channel: drafted again for the new
    with transaction.atomic():
        current = Action.objects.select_for_update().get(pk=action.pk)
        if current.state != S.PROPOSED or action_fingerprint(current) != fingerprint:
            raise ApprovalOutdated("the action changed since it was shown; review it again")
        now = timezone.now()
        Action.objects.filter(pk=action.pk).update(
            params=params,
            channel=channel,
            scheduled_for=scheduled_for,
            edited_by=user,
            edited_at=now,
        )
        audit_record(
            action="action.edited",
            actor=user,
            target=current,
            data={
                "kind": current.kind,
                "invoice": current.invoice_id,
                "channel": [current.channel, channel],
                "scheduled_for": [current.scheduled_for, scheduled_for],
                "text_changed": params.get("message_text") != current.params.get("message_text"),
            },
        )
    action.params, action.channel, action.scheduled_for = params, channel, scheduled_for
    action.edited_by, action.edited_at = user, now
    return action


def actions_cancel_pending(
    *,
    invoice_id: str,
    reason: str,
    keep_kinds: tuple = (),
    keep_manual: bool = False,
    keep_offline_steps: bool = False,
) -> int:
    """Cancel what is still waiting on an invoice (paid meanwhile, or superseded).

    Shadow-mode proposals stay as they are: they were never going to run, and the shadow
    comparison needs them. ``keep_manual``: what a person asked for is not superseded by
    Dunwell's next decision. ``keep_offline_steps``: an offline payer's reminder sequence
    is planned once (a newer decision adds only the steps missing), so it is not superseded;
    a payment cancels it. Claimed actions are left to the executor.
    """
    cancelled = 0
    pending = (
        Action.objects.filter(invoice_id=invoice_id, state__in=PENDING_STATES)
        .exclude(mode=AutomationMode.SHADOW)
        .exclude(kind__in=keep_kinds)
    )
    if keep_manual:
        pending = pending.exclude(decision__trigger="manual")
    if keep_offline_steps:
        pending = pending.exclude(params__has_key="offline_step")
    # A claimed action is being run (or its worker died after calling Chargebee): the
    # executor finishes it and records truthfully what Chargebee did.
    pending = pending.filter(claimed_at__isnull=True)
    for action in pending:
        try:
            action_transition(
                action=action,
                to=S.CANCELLED,
                actor_label="dunwell",
                data={"reason": reason},
                result={"cancelled": reason},
            )
            cancelled += 1
            # A send that failed and waited for its retry is withdrawn with its action.
            OutboundMessage.objects.filter(
                action=action, status=OutboundMessage.Status.FAILED
            ).update(status=OutboundMessage.Status.WITHDRAWN, error=f"withdrawn: {reason}"[:500])
        except ActionConflict:
            continue  # it moved on meanwhile (executed, or cancelled by another job)
    return cancelled
