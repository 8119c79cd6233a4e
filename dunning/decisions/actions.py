"""An action's life: proposed -> approved/rejected -> scheduled -> executed/failed.

Every change is a conditional UPDATE on the expected state (two people approving at once:
one wins, the other is told), recorded in the audit trail. Approving checks the approver's
permission here, not only in a page, and binds the approval to exactly what was shown.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from dunning.audit import audit_record
from dunning.models import ALWAYS_NEEDS_APPROVAL, Action, ActionState, AutomationMode

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


class ActionConflict(Exception):
    """The action is no longer in the state the caller expected (someone else acted)."""


class ApprovalOutdated(ActionConflict):
    """The action changed after the person looked at it: it must be looked at again."""


def action_fingerprint(action: Action) -> str:
    shown = {
        "kind": action.kind,
        "scheduled_for": action.scheduled_for,
        "channel": action.channel,
        "params": action.params,
    }
    encoded = json.dumps(shown, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return hashlib.sha256(encoded).hexdigest()


def action_transition(*, action: Action, to: str, actor=None, actor_label: str = "",
                      data: dict | None = None, **fields) -> Action:  # fmt: skip
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
            data={"from": source, "to": to, "kind": action.kind, "invoice": action.invoice_id,
                  **(data or {})},
        )  # fmt: skip
        if to == S.SCHEDULED and action.mode != AutomationMode.SHADOW:
            from dunning.execution.enqueue import action_enqueue_on_commit

            action_enqueue_on_commit(action_id=action.pk)
    action.state, action.state_changed_at = to, now
    for name, value in fields.items():
        setattr(action, name, value)
    return action


def action_may_approve(*, action: Action, user) -> tuple[bool, str]:
    """Whether ``user`` may approve ``action``, and if not, why (shown to them)."""
    if action.mode == AutomationMode.SHADOW:
        return False, "shadow-mode actions are only logged; they are never run"
    if not user.has_perm("dunning.approve_action"):
        return False, "you may not approve actions"
    if (action.risk == Action.Risk.HIGH or action.kind in ALWAYS_NEEDS_APPROVAL) and not (
        user.has_perm("dunning.approve_high_risk_action")
    ):
        return False, "high-risk and high-value actions need a manager"
    return True, ""


def action_approve(*, action: Action, user, fingerprint: str) -> Action:
    """Approve exactly what ``user`` was shown (``fingerprint``), then schedule it."""
    allowed, why = action_may_approve(action=action, user=user)
    if not allowed:
        raise PermissionDenied(why)
    if fingerprint != action_fingerprint(action):
        raise ApprovalOutdated("the action changed since it was shown; review it again")
    with transaction.atomic():
        action_transition(
            action=action, to=S.APPROVED, actor=user, decided_by=user,
            decided_at=timezone.now(), approved_fingerprint=fingerprint,
        )  # fmt: skip
        action_transition(action=action, to=S.SCHEDULED, actor=user)
    return action


def action_reject(*, action: Action, user, reason: str) -> Action:
    allowed, why = action_may_approve(action=action, user=user)
    if not allowed:
        raise PermissionDenied(why)
    if not reason.strip():
        raise ValueError("say why the action is rejected")
    return action_transition(
        action=action, to=S.REJECTED, actor=user, decided_by=user,
        decided_at=timezone.now(), rejection_reason=reason.strip(), data={"reason": reason},
    )  # fmt: skip


def actions_cancel_pending(*, invoice_id: str, reason: str, keep_kinds: tuple = (),
                           keep_manual: bool = False) -> int:  # fmt: skip
    """Cancel what is still waiting on an invoice (paid meanwhile, or superseded).

    Shadow-mode proposals stay as they are: they were never going to run, and the shadow
    comparison needs them. ``keep_manual``: what a person asked for is not superseded by
    Dunwell's next decision. Claimed actions are left to the executor.
    """
    cancelled = 0
    pending = (
        Action.objects.filter(invoice_id=invoice_id, state__in=PENDING_STATES)
        .exclude(mode=AutomationMode.SHADOW)
        .exclude(kind__in=keep_kinds)
    )
    if keep_manual:
        pending = pending.exclude(decision__trigger="manual")
    # A claimed action is being run (or its worker died after calling Chargebee): the
    # executor finishes it and records truthfully what Chargebee did.
    pending = pending.filter(claimed_at__isnull=True)
    for action in pending:
        try:
            action_transition(
                action=action, to=S.CANCELLED, actor_label="dunwell", data={"reason": reason},
                result={"cancelled": reason},
            )  # fmt: skip
            cancelled += 1
        except ActionConflict:
            continue  # it moved on meanwhile (executed, or cancelled by another job)
    return cancelled
