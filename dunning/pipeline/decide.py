"""Running one decision end to end, in one transaction: the sequence (or its experiment
variant), the plan, the decision and its actions, their drafts, and the desk case.

This is the orchestration the data flow implies: each step's module knows only the layers
below it, and this one, above them all, ties them together.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.experiments.assignment import sequence_choose
from collections_desk.cases import cases_sync_for_decision
from dunning.actions.channels.preview import message_draft_enqueue
from dunning.actions.state_machine import action_transition, actions_cancel_pending
from dunning.decisions.enrichment import decision_context_build, offline_steps_taken
from dunning.decisions.latest import decision_create
from dunning.decisions.plan import Plan
from dunning.decisions.policy_settings.channel_settings import channel_choose, channel_settings_read
from dunning.decisions.policy_settings.segments import segment_of
from dunning.decisions.rules.gateway_pauses import (
    gateway_pause_close,
    gateway_recovery,
    invoices_held_by,
)
from dunning.decisions.service import decision_inputs, decision_plan, jsonable
from dunning.governance.audit import audit_batch, audit_record
from dunning.governance.config_versions import config_snapshot
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    ChargebeeEvent,
    Decision,
    GatewayPause,
    Invoice,
)

logger = logging.getLogger("dunwell.decisions")
CLOSED_STATUSES = ("paid", "voided")


def decision_make(
    *, invoice_id: str, trigger: str, at: datetime, event: ChargebeeEvent | None = None
) -> Decision:
    """Decide about one invoice as of ``at``. Deciding twice for one event returns the first."""
    invoice = Invoice.objects.select_related("customer", "subscription").get(cb_id=invoice_id)
    if event is not None:
        existing = Decision.objects.filter(trigger_event=event, invoice=invoice).first()
        if existing is not None:
            return existing
    # The settings documents are read once for the whole decision (one query).
    with config_snapshot():
        return _decide(invoice=invoice, trigger=trigger, at=at, event=event)


def _decide(
    *, invoice: Invoice, trigger: str, at: datetime, event: ChargebeeEvent | None
) -> Decision:
    context = decision_context_build(invoice=invoice, at=at, trigger=trigger)
    # The dunning sequence (a settings document), or the variant of a running experiment
    # this invoice's first failure was assigned to.
    choice = sequence_choose(invoice_id=invoice.cb_id, context=context, segment=segment_of(context))
    plan = decision_plan(context=context, sequence=choice.params)
    if choice.experiment is not None:
        plan.explanation["experiment"] = choice.experiment
    try:
        return _record(
            invoice=invoice,
            trigger=trigger,
            at=at,
            event=event,
            plan=plan,
            features=decision_inputs(context),
        )
    except IntegrityError:
        # Another worker decided about the same event first: theirs stands.
        return Decision.objects.get(trigger_event=event, invoice=invoice)


def _offline_steps_taken(*, invoice: Invoice, mode: str) -> set[str]:
    return {
        step
        for step, action_mode in offline_steps_taken(invoice_id=invoice.cb_id)
        if mode == AutomationMode.SHADOW or action_mode != AutomationMode.SHADOW
    }


def _record(
    *, invoice: Invoice, trigger: str, at: datetime, event, plan: Plan, features: dict
) -> Decision:
    with transaction.atomic(), audit_batch():
        # The invoice row serialises everything that plans or cancels its actions: two
        # decisions at once (a duplicate or a second event) must not both plan the same
        # reminder step, and a payment settled meanwhile must see this decision's actions
        # or be seen by it. Its status and steps are read again under the lock.
        status_now = (
            Invoice.objects.select_for_update()
            .filter(pk=invoice.pk)
            .values_list("status", flat=True)
            .first()
        )
        superseded = actions_cancel_pending(
            invoice_id=invoice.cb_id,
            reason="superseded by a newer decision",
            keep_kinds=(ActionKind.TAKE_OVER,),
            keep_manual=True,
            keep_offline_steps=True,
        )
        taken = _offline_steps_taken(invoice=invoice, mode=plan.mode)
        # Decided from a context read before a payment reached the mirror: as of ``at`` the
        # invoice was due, but nothing may now run against it (shadow only logs, so a shadow
        # replay of history keeps its proposals).
        closed_meanwhile = (
            status_now in CLOSED_STATUSES and plan.mode != AutomationMode.SHADOW and plan.actions
        )
        reasoning = plan.reasoning
        if closed_meanwhile:
            reasoning += (
                f" The invoice was {status_now} before this decision was recorded, so none of"
                " its actions were planned."
            )
            plan.explanation["closed_before_recorded"] = status_now
        decision = decision_create(
            invoice=invoice,
            customer_id=invoice.customer_id,
            trigger=trigger,
            trigger_event=event,
            as_of=at,
            recovery_score=plan.recovery_score,
            retry_score=plan.retry_score,
            model_version=plan.model_version,
            segment=plan.segment,
            mode=plan.mode,
            guardrail_version=plan.explanation.get("guardrail_version"),
            features=features,
            rules_fired=plan.rules_fired,
            reasoning=reasoning,
            explanation=jsonable({**plan.explanation, "superseded_actions": superseded}),
        )
        audit_record(
            action="decision.made",
            actor_label=plan.model_version,
            target=decision,
            data={
                "invoice": invoice.cb_id,
                "trigger": trigger,
                "event": event.event_id if event else None,
                "as_of": at,
                "model_version": plan.model_version,
                "recovery_score": plan.recovery_score,
                "retry_score": plan.retry_score,
                "segment": plan.segment,
                "mode": plan.mode,
                "rules_fired": plan.rules_fired,
                "reasoning": reasoning,
                "sequence": plan.explanation.get("sequence"),
                "experiment": plan.explanation.get("experiment"),
                "inputs": features,
            },
        )
        channels = channel_settings_read()
        planned = [
            proposed
            for proposed in ([] if closed_meanwhile else plan.actions)
            if proposed.params.get("offline_step") not in taken
        ]
        actions = Action.objects.bulk_create(
            Action(
                decision=decision,
                invoice=invoice,
                customer_id=invoice.customer_id,
                kind=proposed.kind,
                # A channel switched off in the channel settings is never planned on.
                channel=proposed.channel
                and (channel_choose(proposed.channel, current=channels) or proposed.channel),
                scheduled_for=proposed.scheduled_for,
                params=jsonable(proposed.params),
                reasoning=proposed.reasoning,
                mode=plan.mode,
                risk=proposed.risk,
                needs_approval=proposed.needs_approval,
                approval_reason=proposed.approval_reason,
                propensity=proposed.propensity,
                explored=proposed.explored,
            )
            for proposed in planned
        )
        for action in actions:
            audit_record(
                action="action.proposed",
                actor_label=plan.model_version,
                target=action,
                data={
                    "decision": decision.pk,
                    "kind": action.kind,
                    "invoice": invoice.cb_id,
                    "scheduled_for": action.scheduled_for,
                    "channel": action.channel,
                    "needs_approval": action.needs_approval,
                    "risk": action.risk,
                    "approval_reason": action.approval_reason,
                    "propensity": action.propensity,
                    "explored": action.explored,
                },
            )
            if plan.mode != AutomationMode.SHADOW and action.needs_approval:
                message_draft_enqueue(action=action)  # read by its approver, not drafted then
            if plan.mode != AutomationMode.SHADOW and not action.needs_approval:
                action_transition(
                    action=action,
                    to=ActionState.SCHEDULED,
                    actor_label=f"dunwell ({plan.mode} mode)",
                    data={
                        "why": "low risk in auto mode"
                        if plan.mode == AutomationMode.AUTO
                        else "needs no approval"
                    },
                )
        cases_sync_for_decision(decision=decision)
    return decision


def gateway_pause_redecide(*, pause: GatewayPause, at: datetime) -> int:
    """Decide again, as of ``at``, about every invoice the pause held. Safe to run twice:
    a new decision no longer holds its retries, so it is not picked again."""
    decided = 0
    for invoice_id in invoices_held_by(gateway=pause.gateway):
        try:
            decision_make(invoice_id=invoice_id, trigger=Decision.Trigger.OPEN_INVOICE, at=at)
        except Exception:  # one invoice must not keep the others waiting
            logger.exception("re-deciding %s after the %s pause failed", invoice_id, pause)
            continue
        decided += 1
    return decided


def gateway_pauses_check(*, at: datetime | None = None) -> list[tuple[GatewayPause, int]]:
    """End every open pause whose gateway recovered; returns (pause, invoices re-decided)."""
    at = at or timezone.now()
    resumed = []
    for pause in GatewayPause.objects.filter(ended_at__isnull=True, started_at__lte=at):
        why = gateway_recovery(pause=pause, at=at)
        if why is not None and gateway_pause_close(pause=pause, at=at, why=why):
            resumed.append((pause, gateway_pause_redecide(pause=pause, at=at)))
    return resumed
