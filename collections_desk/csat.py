"""One satisfaction question after a billing issue is resolved.

When a case resolves with an invoice paid, Dunwell proposes a message (template
``csat_survey``) to the customer, under the same guardrails as every other action: logged
only in shadow mode, waiting for approval in approve mode, scheduled now in auto mode;
delivery still applies quiet hours and the weekly contact limit. The message carries a
signed link to a public page (no login) where the customer rates the handling 1-5 and may
add a comment. The link names only the action, is signed with the site's secret, expires
after ``LINK_VALID`` and is single-use: one answer per case.
"""

from __future__ import annotations

from datetime import datetime

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from collections_desk.models import (
    Case,
    CaseNote,
    CaseState,
    CsatAnswer,
    EscalationTicket,
    ResolutionType,
)
from dunning.actions.channels.survey_links import LINK_VALID, SALT
from dunning.actions.state_machine import action_transition
from dunning.decisions.latest import decision_create
from dunning.decisions.policy_settings.channel_settings import channel_choose, channel_settings_read
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.policy_settings.segments import segment_name
from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationError
from dunning.models import (
    Action,
    ActionKind,
    ActionState,
    AutomationMode,
    Decision,
    OutboundMessage,
)

TEMPLATE = "csat_survey"
COMMENT_MAX_CHARS = 2000
SCORES = range(1, 6)


class SurveyRefused(ApplicationError, ValueError):
    """The answer cannot be stored (the reason is shown to the customer)."""

    status = 400


class SurveyAlreadyAnswered(SurveyRefused):
    status = 409


def case_resolution_type(*, case: Case, by_person: bool = False) -> str:
    """Who resolved the case: escalated, worked by an agent, or Dunwell alone."""
    state = Case.objects.filter(pk=case.pk).values_list("state", "assignee_id").first()
    if (state and state[0] == CaseState.ESCALATED) or EscalationTicket.objects.filter(
        case=case
    ).exists():
        return ResolutionType.ESCALATED
    person_approved = Action.objects.filter(
        invoice__cases=case, decided_by__isnull=False, created_at__gte=case.opened_at
    )
    if (
        by_person
        or (state and state[1])
        or CaseNote.objects.filter(case=case).exists()
        or person_approved.exists()
    ):
        return ResolutionType.AGENT
    return ResolutionType.AUTOMATIC


def csat_survey_propose(*, case: Case, now: datetime) -> Action | None:
    """Propose the survey for a case that just resolved (once per case)."""
    invoice = case.invoices.filter(status="paid").order_by("-paid_at", "-id").first()
    if invoice is None:
        return None  # written off, voided or cancelled: no billing issue was solved for them
    if Action.objects.filter(params__template=TEMPLATE, params__case=case.pk).exists():
        return None
    channels = channel_settings_read()
    if not channels.csat_survey:
        return None  # switched off in the channel settings
    guardrails = guardrails_active()
    segment = case.segment or "self_serve"
    mode = guardrails.mode_for(segment)
    channel = (
        OutboundMessage.objects.filter(customer_id=case.customer_id, status="sent")
        .order_by("-sent_at")
        .values_list("channel", flat=True)
        .first()
        or "email"
    )
    channel = channel_choose(channel, current=channels) or channel
    named = segment_name(segment)
    approval_reason = {
        AutomationMode.SHADOW: f"segment {named} is in shadow mode: logged, never run",
        AutomationMode.APPROVE: f"segment {named} is in approve mode",
    }.get(mode, "")
    reasoning = (
        f"Case {case.pk} resolved ({case.resolution or 'paid'}): ask the customer one "
        "question about how it was handled."
    )
    with transaction.atomic():
        decision = decision_create(
            invoice=invoice,
            customer_id=case.customer_id,
            trigger=Decision.Trigger.CASE_RESOLVED,
            as_of=now,
            model_version="rules",
            segment=segment,
            mode=mode,
            guardrail_version=guardrails.version,
            reasoning=reasoning,
            features={"case": case.pk, "resolution_type": case.resolution_type},
        )
        action = Action.objects.create(
            decision=decision,
            invoice=invoice,
            customer_id=case.customer_id,
            kind=ActionKind.MESSAGE,
            channel=channel,
            scheduled_for=now,
            params={"template": TEMPLATE, "case": case.pk},
            reasoning=reasoning,
            mode=mode,
            needs_approval=mode == AutomationMode.APPROVE,
            approval_reason=approval_reason,
        )
        audit_record(
            action="action.proposed",
            actor_label="dunwell",
            target=action,
            data={
                "decision": decision.pk,
                "kind": action.kind,
                "invoice": invoice.cb_id,
                "scheduled_for": now,
                "channel": channel,
                "params": action.params,
                "needs_approval": action.needs_approval,
                "case": case.pk,
            },
        )
        if mode == AutomationMode.AUTO:
            action_transition(
                action=action,
                to=ActionState.SCHEDULED,
                actor_label="dunwell (auto mode)",
                data={"why": "low risk in auto mode"},
            )
    return action


def csat_survey_open(*, token: str) -> Action:
    """The survey action a link stands for, if the link is genuine, current and unanswered."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=LINK_VALID)
    except signing.SignatureExpired:
        raise SurveyRefused("this survey link has expired") from None
    except signing.BadSignature:
        raise SurveyRefused("this survey link is not valid") from None
    action = Action.objects.filter(
        pk=payload.get("action") if isinstance(payload, dict) else None,
        params__template=TEMPLATE,
    ).first()
    if action is None:
        raise SurveyRefused("this survey link is not valid")
    if CsatAnswer.objects.filter(action=action).exists():
        raise SurveyAlreadyAnswered("this survey was already answered: thank you")
    return action


def csat_answer_record(*, token: str, score: str | int, comment: str = "") -> CsatAnswer:
    action = csat_survey_open(token=token)
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise SurveyRefused("choose a score from 1 to 5") from None
    if score not in SCORES:
        raise SurveyRefused("choose a score from 1 to 5")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise SurveyRefused(f"a comment has at most {COMMENT_MAX_CHARS} characters")
    case = Case.objects.get(pk=action.params["case"])
    try:
        with transaction.atomic():
            answer = CsatAnswer.objects.create(
                case=case,
                action=action,
                score=score,
                comment=comment,
                channel=action.channel or "email",
                segment=case.segment,
                resolution_type=case.resolution_type,
                answered_at=timezone.now(),
            )
            audit_record(
                action="case.csat_answered",
                actor_label=f"customer {case.customer_id}",
                target=case,
                data={
                    "case": case.pk,
                    "action": action.pk,
                    "score": score,
                    "commented": bool(comment),
                },
            )
    except IntegrityError:  # answered twice at once, or a second link for the same case
        raise SurveyAlreadyAnswered("this survey was already answered: thank you") from None
    return answer
