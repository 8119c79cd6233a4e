"""Making a decision: build the context, run the policy, record it all, once per event."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from collections_desk.cases import cases_sync_for_decision
from dunning.actions.channels.preview import message_draft_enqueue
from dunning.actions.state_machine import action_transition, actions_cancel_pending
from dunning.decisions.channel_settings import channel_choose, channel_settings_read
from dunning.decisions.enrichment import decision_context_build, offline_steps_taken
from dunning.decisions.guardrails import guardrails_active
from dunning.decisions.policy import GuardrailSnapshot, Plan, plan_decide
from dunning.decisions.scoring import active_scorers
from dunning.decisions.segments import segment_of
from dunning.governance.audit import audit_batch, audit_record
from dunning.governance.config_versions import config_snapshot
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    ChargebeeEvent,
    Decision,
    Invoice,
)

logger = logging.getLogger("dunwell.decisions")
CLOSED_STATUSES = ("paid", "voided")


def decision_make(*, invoice_id: str, trigger: str, at: datetime,
                  event: ChargebeeEvent | None = None) -> Decision:  # fmt: skip
    """Decide about one invoice as of ``at``. Deciding twice for one event returns the first."""
    invoice = Invoice.objects.select_related("customer", "subscription").get(cb_id=invoice_id)
    if event is not None:
        existing = Decision.objects.filter(trigger_event=event, invoice=invoice).first()
        if existing is not None:
            return existing
    # The settings documents are read once for the whole decision (one query).
    with config_snapshot():
        return _decide(invoice=invoice, trigger=trigger, at=at, event=event)


def _decide(*, invoice: Invoice, trigger: str, at: datetime,
            event: ChargebeeEvent | None) -> Decision:  # fmt: skip
    context = decision_context_build(invoice=invoice, at=at, trigger=trigger)
    guardrails = guardrails_active()
    # The dunning sequence (a settings document), or the variant of a running experiment
    # this invoice's first failure was assigned to (analytics/experiments/assignment.py).
    from analytics.experiments.assignment import sequence_choose

    choice = sequence_choose(invoice_id=invoice.cb_id, context=context,
                             segment=segment_of(context))  # fmt: skip
    plan = plan_decide(
        context=context, guardrails=GuardrailSnapshot.of(guardrails), scorers=active_scorers(),
        sequence=choice.params,
    )  # fmt: skip
    if choice.experiment is not None:
        plan.explanation["experiment"] = choice.experiment
    try:
        return _record(invoice=invoice, trigger=trigger, at=at, event=event, plan=plan,
                       features=_snapshot(context))  # fmt: skip
    except IntegrityError:
        # Another worker decided about the same event first: theirs stands.
        return Decision.objects.get(trigger_event=event, invoice=invoice)


def _jsonable(value):
    """Datetimes to ISO strings, as the database will give them back (JSONField has no encoder)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _snapshot(context) -> dict:
    """The inputs as JSON (times as ISO 8601), exactly as stored and audited."""
    signals = context.signals
    snapshot = {
        "recovery_features": context.recovery_features,
        "amount_due": context.amount_due,
        "currency": context.currency,
        "decline": vars(context.decline) if context.decline else None,
        "invoice_failures": context.invoice_failures,
        "first_failed_at": context.first_failed_at,
        "last_failed_at": context.last_failed_at,
        "card_attempts_30d": len(context.card_attempts),
        "gateway": context.gateway,
        "gateway_down": context.gateway_down,
        "card_changed_since_failure": context.card_changed_since_failure,
        "time_zone": context.time_zone,
        "time_zone_known_by": context.time_zone_known_by,
        "lifetime_value": context.lifetime_value,
        "tenure_days": context.tenure_days,
        "other_unpaid_invoices": context.other_unpaid_invoices,
        "contacts_last_7d": context.contacts_last_7d,
        "dunwell_retries": context.dunwell_retries,
        "signals": {**vars(signals), "sources": list(signals.sources)},
        "card_updater": context.card_updater.as_dict() if context.card_updater else None,
        "country": context.country,
        "payday_shares": [list(pair) for pair in context.payday_shares],
        "dunwell_in_charge": context.dunwell_in_charge,
    }
    return _jsonable(snapshot)


def _offline_steps_taken(*, invoice: Invoice, mode: str) -> set[str]:
    return {
        step
        for step, action_mode in offline_steps_taken(invoice_id=invoice.cb_id)
        if mode == AutomationMode.SHADOW or action_mode != AutomationMode.SHADOW
    }


def _record(*, invoice: Invoice, trigger: str, at: datetime, event, plan: Plan,
            features: dict) -> Decision:  # fmt: skip
    with transaction.atomic(), audit_batch():
        # The invoice row serialises everything that plans or cancels its actions: two
        # decisions at once (a duplicate or a second event) must not both plan the same
        # reminder step, and a payment settled meanwhile must see this decision's actions
        # or be seen by it. Its status and steps are read again under the lock.
        status_now = (
            Invoice.objects.select_for_update().filter(pk=invoice.pk)
            .values_list("status", flat=True).first()
        )  # fmt: skip
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
        decision = Decision.objects.create(
            invoice=invoice, customer_id=invoice.customer_id, trigger=trigger,
            trigger_event=event, as_of=at, recovery_score=plan.recovery_score,
            retry_score=plan.retry_score, model_version=plan.model_version,
            segment=plan.segment, mode=plan.mode,
            guardrail_version=plan.explanation.get("guardrail_version"),
            features=features, rules_fired=plan.rules_fired, reasoning=reasoning,
            explanation=_jsonable({**plan.explanation, "superseded_actions": superseded}),
        )  # fmt: skip
        audit_record(
            action="decision.made",
            actor_label=plan.model_version,
            target=decision,
            data={"invoice": invoice.cb_id, "trigger": trigger,
                  "event": event.event_id if event else None, "as_of": at,
                  "model_version": plan.model_version, "recovery_score": plan.recovery_score,
                  "retry_score": plan.retry_score, "segment": plan.segment, "mode": plan.mode,
                  "rules_fired": plan.rules_fired, "reasoning": reasoning,
                  "sequence": plan.explanation.get("sequence"),
                  "experiment": plan.explanation.get("experiment"),
                  "inputs": features},
        )  # fmt: skip
        channels = channel_settings_read()
        planned = [
            proposed
            for proposed in ([] if closed_meanwhile else plan.actions)
            if proposed.params.get("offline_step") not in taken
        ]
        actions = Action.objects.bulk_create(
            Action(
                decision=decision, invoice=invoice, customer_id=invoice.customer_id,
                kind=proposed.kind,
                # A channel switched off in the channel settings is never planned on.
                channel=proposed.channel and (
                    channel_choose(proposed.channel, current=channels) or proposed.channel
                ),
                scheduled_for=proposed.scheduled_for, params=_jsonable(proposed.params),
                reasoning=proposed.reasoning, mode=plan.mode, risk=proposed.risk,
                needs_approval=proposed.needs_approval,
                approval_reason=proposed.approval_reason,
                propensity=proposed.propensity, explored=proposed.explored,
            )
            for proposed in planned
        )  # fmt: skip
        for action in actions:
            audit_record(
                action="action.proposed",
                actor_label=plan.model_version,
                target=action,
                data={"decision": decision.pk, "kind": action.kind, "invoice": invoice.cb_id,
                      "scheduled_for": action.scheduled_for, "channel": action.channel,
                      "needs_approval": action.needs_approval, "risk": action.risk,
                      "approval_reason": action.approval_reason,
                      "propensity": action.propensity, "explored": action.explored},
            )  # fmt: skip
            if plan.mode != AutomationMode.SHADOW and action.needs_approval:
                message_draft_enqueue(action=action)  # read by its approver, not drafted then
            if plan.mode != AutomationMode.SHADOW and not action.needs_approval:
                action_transition(
                    action=action, to=ActionState.SCHEDULED,
                    actor_label=f"dunwell ({plan.mode} mode)",
                    data={"why": "low risk in auto mode" if plan.mode == AutomationMode.AUTO
                          else "needs no approval"},
                )  # fmt: skip
        cases_sync_for_decision(decision=decision)
    return decision
