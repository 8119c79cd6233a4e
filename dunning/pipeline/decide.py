"""Running one decision end to end, in one transaction: the sequence (or its experiment
variant), the plan, the decision and its actions, their drafts, and the desk case.

This is the orchestration the data flow implies: each step's module knows only the layers
below it, and this one, above them all, ties them together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from dunning.decisions.policy_settings.guardrails import guardrails_snapshot
from dunning.decisions.policy_settings.segments import segment_of
from dunning.decisions.rules.gateway_pauses import (
    gateway_pause_close,
    gateway_recovery,
    invoices_held_by,
)
from dunning.decisions.service import decision_inputs, decision_plan, jsonable
from dunning.governance.audit import audit_batch, audit_discarded_on_error, audit_record
from dunning.governance.config_versions import config_snapshot
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    ChargebeeEvent,
    Customer,
    Decision,
    GatewayPause,
    Invoice,
)

logger = logging.getLogger("dunwell.decisions")
CLOSED_STATUSES = ("paid", "voided")


# Decisions recorded in one transaction: one audit lock and chain read, one commit. Kept
# small because the transaction holds each invoice's row (and its case) until it commits.
RECORD_CHUNK = 20


@dataclass(frozen=True)
class DecisionRequest:
    invoice: Invoice  # with its customer and subscription
    trigger: str
    at: datetime
    event: ChargebeeEvent | None = None


@dataclass
class DecisionsMade:
    decisions: list[Decision] = field(default_factory=list)
    failed: list[tuple[DecisionRequest, Exception]] = field(default_factory=list)

    def extend(self, other: DecisionsMade) -> None:
        self.decisions += other.decisions
        self.failed += other.failed


def decision_make(
    *, invoice_id: str, trigger: str, at: datetime, event: ChargebeeEvent | None = None
) -> Decision:
    """Decide about one invoice as of ``at``. Deciding twice for one event returns the first."""
    invoice = Invoice.objects.select_related("customer", "subscription").get(cb_id=invoice_id)
    made = decisions_make(
        requests=[DecisionRequest(invoice=invoice, trigger=trigger, at=at, event=event)]
    )
    if made.failed:
        raise made.failed[0][1]
    return made.decisions[0]


def decisions_make(*, requests: list[DecisionRequest]) -> DecisionsMade:
    """Decide about several invoices, each as of its own moment, as deciding them one after
    the other would: every context and plan first, then the decisions recorded together.

    Requests about the same customer go in separate rounds, in the order given: a decision
    can change what the next one about that customer knows (a cancellation waiting, the
    actions it superseded). One request's failure (Chargebee unavailable for its mirror's
    gaps, say) leaves the others decided; it is returned in ``failed``.
    """
    made = DecisionsMade()
    # The settings documents and the guardrails, read once for all of them.
    with config_snapshot(), guardrails_snapshot():
        for round_ in _rounds(requests):
            _round_decide(round_, made=made)
    return made


def _rounds(requests: list[DecisionRequest]) -> list[list[DecisionRequest]]:
    rounds: list[list[DecisionRequest]] = []
    seen: dict[str, int] = {}
    for request in requests:
        n = seen.get(request.invoice.customer_id, 0)
        seen[request.invoice.customer_id] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(request)
    return rounds


def _round_decide(requests: list[DecisionRequest], *, made: DecisionsMade) -> None:
    existing = _decisions_for_events(requests)
    planned: list[tuple[DecisionRequest, Plan, dict]] = []
    for request in requests:
        if (decided := existing.get((request.event, request.invoice.cb_id))) is not None:
            made.decisions.append(decided)
            continue
        try:
            planned.append((request, *_plan(request)))
        except Exception as error:  # one invoice must not keep the others waiting
            made.failed.append((request, error))
    # One lock order for every worker. Recording a decision locks its customer, then its
    # invoice, the customer's open case and the case's invoices (a key share on each); a
    # round holds one request per customer, so by customer every lock a chunk takes comes
    # in one global order and two workers' chunks cannot deadlock.
    planned.sort(key=lambda item: (item[0].invoice.customer_id, item[0].invoice.pk))
    for start in range(0, len(planned), RECORD_CHUNK):
        _record_chunk(planned[start : start + RECORD_CHUNK], made=made)


def _decisions_for_events(requests: list[DecisionRequest]) -> dict:
    events = {request.event.pk for request in requests if request.event is not None}
    if not events:
        return {}
    found = Decision.objects.filter(
        trigger_event_id__in=events, invoice_id__in=[r.invoice.cb_id for r in requests]
    ).order_by("pk")
    by_pk = {request.event.pk: request.event for request in requests if request.event}
    first: dict = {}
    for decision in found:
        event = by_pk[decision.trigger_event_id or 0]  # the filter leaves none without one
        first.setdefault((event, decision.invoice_id), decision)
    return first


def _plan(request: DecisionRequest) -> tuple[Plan, dict]:
    invoice, at = request.invoice, request.at
    context = decision_context_build(invoice=invoice, at=at, trigger=request.trigger)
    # The dunning sequence (a settings document), or the variant of a running experiment
    # this invoice's first failure was assigned to.
    choice = sequence_choose(invoice_id=invoice.cb_id, context=context, segment=segment_of(context))
    plan = decision_plan(context=context, sequence=choice.params)
    if choice.experiment is not None:
        plan.explanation["experiment"] = choice.experiment
    return plan, decision_inputs(context)


def _record_chunk(planned: list[tuple[DecisionRequest, Plan, dict]], *, made: DecisionsMade):
    """Record the chunk in one transaction; if that fails, each one in its own, so that one
    that cannot be recorded does not take the others with it."""
    if len(planned) > 1:
        try:
            with transaction.atomic(), audit_batch():
                decisions = [_record_one(*item) for item in planned]
        except Exception:
            logger.warning(
                "recording %s decisions together failed, one by one", len(planned), exc_info=True
            )
        else:
            made.decisions += decisions
            return
    for request, plan, features in planned:
        try:
            with transaction.atomic(), audit_batch():
                made.decisions.append(_record_one(request, plan, features))
        except Exception as error:
            made.failed.append((request, error))


def _record_one(request: DecisionRequest, plan: Plan, features: dict) -> Decision:
    try:
        with audit_discarded_on_error():
            return _record(
                invoice=request.invoice,
                trigger=request.trigger,
                at=request.at,
                event=request.event,
                plan=plan,
                features=features,
            )
    except IntegrityError:
        if request.event is None:
            raise
        # Another worker decided about the same event first: theirs stands.
        return Decision.objects.get(trigger_event=request.event, invoice=request.invoice)


def _offline_steps_taken(*, invoice: Invoice, mode: str) -> set[str]:
    return {
        step
        for step, action_mode in offline_steps_taken(invoice_id=invoice.cb_id)
        if mode == AutomationMode.SHADOW or action_mode != AutomationMode.SHADOW
    }


def _record(
    *, invoice: Invoice, trigger: str, at: datetime, event, plan: Plan, features: dict
) -> Decision:
    with transaction.atomic():
        # The customer first: recording locks the invoice, then the customer's open case and
        # a key share on each of its unpaid invoices, so two decisions about two invoices of
        # one customer, each holding its invoice, would wait for each other. No key update:
        # rows that merely reference the customer (an action, a decision) are not held up.
        Customer.objects.select_for_update(no_key=True).filter(
            cb_id=invoice.customer_id
        ).values_list("pk", flat=True).first()
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
            invoice_locked=True,
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


def _open_invoice_requests(*, invoice_ids: list[str], at: datetime) -> list[DecisionRequest]:
    """Requests to decide again about these invoices (those the mirror has), as of ``at``."""
    invoices = Invoice.objects.select_related("customer", "subscription").in_bulk(
        invoice_ids, field_name="cb_id"
    )
    return [
        DecisionRequest(invoice=invoices[invoice_id], trigger=Decision.Trigger.OPEN_INVOICE, at=at)
        for invoice_id in invoice_ids
        if invoice_id in invoices
    ]


OPEN_BATCH = 50


def open_invoices_decide(*, invoice_ids: list[str], at: datetime) -> Iterator[DecisionsMade]:
    """Decide again about these invoices as of ``at``, ``OPEN_BATCH`` at a time, each batch
    reading the settings afresh: a change saved meanwhile (shadow mode, say) applies to the
    next batch, not only after thousands of invoices. Yields what each batch made."""
    for start in range(0, len(invoice_ids), OPEN_BATCH):
        batch = invoice_ids[start : start + OPEN_BATCH]
        yield decisions_make(requests=_open_invoice_requests(invoice_ids=batch, at=at))


def gateway_pause_redecide(*, pause: GatewayPause, at: datetime) -> int:
    """Decide again, as of ``at``, about every invoice the pause held. Safe to run twice:
    a new decision no longer holds its retries, so it is not picked again."""
    decided = 0
    for made in open_invoices_decide(
        invoice_ids=list(invoices_held_by(gateway=pause.gateway)), at=at
    ):
        for request, error in made.failed:  # one invoice must not keep the others waiting
            logger.error(
                "re-deciding %s after the %s pause failed: %s", request.invoice, pause, error
            )
        decided += len(made.decisions)
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
