"""The executor's one door to the channels: deliver the message an action asks for.

The executor (``dunning/actions/execution/``) calls ``message_deliver`` for message-like actions
(message, payment-method link, authentication link) with the links it obtained from
Chargebee (``{"pay_link": ...}``). Delivery drafts the text, fills the placeholders,
respects quiet hours and contact limits, sends through the channel adapter and logs it.

One message per action, whatever happens: the ``OutboundMessage`` row is claimed (unique
per action) before the adapter is called, so a second call returns the first result, and a
send interrupted half-way is never repeated blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dunning.actions.channels.adapters import (
    ChannelRejected,
    ChannelUnavailable,
    Outgoing,
    channel_send,
)
from dunning.actions.channels.case_context import Case, DeliveryRefused, case_read
from dunning.actions.channels.drafters import drafter_configured
from dunning.actions.channels.drafting import PLACEHOLDERS, Draft
from dunning.actions.channels.preview import person_text_body, stored_draft
from dunning.actions.channels.validation import PLACEHOLDER, draft_problems
from dunning.decisions.policy_settings.channel_settings import (
    ChannelSettings,
    channel_choose,
    channel_settings_read,
)
from dunning.decisions.policy_settings.guardrails import guardrails_active
from dunning.decisions.timing.quiet_hours import quiet_hours_next_allowed
from dunning.governance.audit import audit_record
from dunning.models import Action, Channel, OutboundMessage, Purpose

logger = logging.getLogger(__name__)

CONTACT_WINDOW = timedelta(days=7)
SEND_RETRY_AFTER = timedelta(minutes=15)
IN_FLIGHT_WAIT = timedelta(minutes=5)
# A claim older than this whose adapter never answered: it may or may not have gone out.
INTERRUPTED_AFTER = timedelta(hours=1)
# Every channel switched off in the channel settings: look again after this.
CHANNELS_OFF_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # "sent", "deferred" (try again at ``retry_at``) or "refused" (never send)
    reason: str = ""
    retry_at: datetime | None = None
    message_id: int | None = None


def message_deliver(*, action: Action, links: dict[str, str]) -> DeliveryResult:
    now = timezone.now()
    earlier = OutboundMessage.objects.filter(action=action).first()
    if earlier is not None and earlier.status != OutboundMessage.Status.FAILED:
        return _earlier_result(earlier, now=now)
    current = channel_settings_read()
    asked = action.channel or Channel.EMAIL
    channel = channel_choose(asked, current=current)
    if channel is None:
        return DeliveryResult(
            "deferred",
            f"the {Channel(asked).label} channel is switched off in the channel settings "
            "and no other channel is on",
            now + CHANNELS_OFF_WAIT,
        )
    try:
        case = case_read(action=action, links=links, channel=channel)
    except DeliveryRefused as refused:
        return DeliveryResult("refused", str(refused))
    if wait := delivery_wait(case, now=now, current=current):
        return wait
    # What the approver read (kept when it was reviewed), else drafted now (no approval).
    draft = stored_draft(action, channel=case.channel) or drafter_configured().draft(case.brief)
    if edited := (action.params.get("message_text") or "").strip():
        draft = _person_written(draft, text=edited, required=case.brief.required, action=action)
    problems = draft_problems(
        draft,
        channel=case.channel,
        required=case.brief.required,
        offers_allowed=case.brief.offers_allowed,
        filled_lengths=case.brief.filled_lengths,
    )
    if problems:  # only the built-in drafter's text gets here unchecked: a bug, say so
        logger.error("draft for action %s refused: %s", action.pk, problems)
        return DeliveryResult("refused", f"the drafted text was refused: {'; '.join(problems)}")
    message = _claim(action=action, case=case, draft=draft, retry=earlier)
    if message is None:
        return DeliveryResult("deferred", "another worker is sending it", now + IN_FLIGHT_WAIT)
    return _send(message, case=case, action=action, now=now, sender=current.from_email)


def _person_written(draft: Draft, *, text: str, required, action: Action) -> Draft:
    """A person's edit (from the approval inbox) replaces the drafted body.

    A person and a second approver stand behind it, so only the placeholders the action needs
    are ensured (the link goes on its own line if the text left it out).
    """
    body = person_text_body(text, required=required)
    editor = action.edited_by.get_username() if action.edited_by_id else "a person"
    return replace(draft, body=body, drafter="person", model=f"edited by {editor}")


def message_fill(text: str, values: dict[str, str]) -> str:
    """Put the customer's values in place of the placeholders, and nothing else."""
    return PLACEHOLDER.sub(
        lambda m: values[m.group(1)] if m.group(1) in PLACEHOLDERS else m.group(0), text
    )


def _earlier_result(message: OutboundMessage, *, now: datetime) -> DeliveryResult:
    if message.status == OutboundMessage.Status.SENT:
        return DeliveryResult("sent", "already sent", message_id=message.pk)
    if message.created_at > now - INTERRUPTED_AFTER:
        return DeliveryResult("deferred", "another worker is sending it", now + IN_FLIGHT_WAIT)
    return DeliveryResult(
        "refused",
        "an earlier send was interrupted and may have gone out: a person checks the outbox",
        message_id=message.pk,
    )


def delivery_wait(case: Case, *, now: datetime, current: ChannelSettings) -> DeliveryResult | None:
    """Quiet hours in the customer's zone, then the weekly contact limit."""
    quiet_until = current.quiet and quiet_hours_next_allowed(
        at=now, time_zone=case.time_zone, quiet=current.quiet
    )
    if quiet_until:
        return DeliveryResult(
            "deferred", f"quiet hours in the customer's time zone ({case.time_zone})", quiet_until
        )
    limit = guardrails_active().contacts_per_week
    if limit == 0:
        return DeliveryResult("refused", "the guardrails allow no contacts at all")
    recent = list(
        OutboundMessage.objects.filter(customer_id=case.customer.cb_id)
        .filter(
            Q(status=OutboundMessage.Status.SENT, sent_at__gt=now - CONTACT_WINDOW)
            | Q(status=OutboundMessage.Status.SENDING, created_at__gt=now - CONTACT_WINDOW)
        )
        .annotate(contacted_at=Coalesce("sent_at", "created_at"))
        .order_by("-contacted_at")
        .values_list("contacted_at", flat=True)[: max(limit, 1)]
    )
    if len(recent) < limit:
        return None
    # Below the limit again once the oldest of the last ``limit`` contacts leaves the window.
    frees_at = recent[-1] + CONTACT_WINDOW
    reason = f"the weekly contact limit ({limit}) is reached"
    if case.purpose == Purpose.RETRY_SCHEDULED and case.retry_at and frees_at >= case.retry_at:
        return DeliveryResult("refused", f"{reason} until after the retry it announces")
    return DeliveryResult("deferred", reason, frees_at)


def _claim(
    *, action: Action, case: Case, draft: Draft, retry: OutboundMessage | None
) -> OutboundMessage | None:
    """Take the action's one message row (a new one, or a failed one to try again)."""
    fields = {
        "customer_id": case.customer.cb_id,
        "invoice_id": case.invoice.cb_id,
        "channel": case.channel,
        "purpose": case.purpose,
        "recipient": case.recipient,
        "subject": message_fill(draft.subject, case.values),
        "body": message_fill(draft.body, case.values),
        "status": OutboundMessage.Status.SENDING,
        "error": "",
        "drafter": draft.drafter,
        "model": draft.model,
        "prompt_template_id": draft.prompt_template_id,
        "prompt_version": draft.prompt_version,
        "fallback_reason": draft.fallback_reason,
    }
    if retry is not None:
        claimed = OutboundMessage.objects.filter(
            pk=retry.pk, status=OutboundMessage.Status.FAILED
        ).update(created_at=timezone.now(), **fields)
        return OutboundMessage.objects.get(pk=retry.pk) if claimed else None
    try:
        with transaction.atomic():
            return OutboundMessage.objects.create(action=action, **fields)
    except IntegrityError:
        return None


def _send(
    message: OutboundMessage, *, case: Case, action: Action, now: datetime, sender: str
) -> DeliveryResult:
    outgoing = Outgoing(
        sender=sender,
        channel=message.channel,
        recipient=message.recipient,
        subject=message.subject,
        body=message.body,
        idempotency_key=f"dunwell-message-{message.pk}",
        customer_id=case.customer.cb_id,
        purpose=message.purpose,
    )
    try:
        sent = channel_send(outgoing)
    except ChannelRejected as rejected:
        _mark_failed(message, str(rejected))
        return DeliveryResult("refused", str(rejected), message_id=message.pk)
    except ChannelUnavailable as unavailable:
        _mark_failed(message, str(unavailable))
        return DeliveryResult("deferred", str(unavailable), now + SEND_RETRY_AFTER, message.pk)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.SENT,
        sent_at=timezone.now(),
        provider=sent.provider,
        provider_id=sent.provider_id[:200],
    )
    audit_record(
        action="message.sent",
        actor_label="dunwell",
        target=message,
        data={
            "invoice": case.invoice.cb_id,
            "customer": case.customer.cb_id,
            "action": action.pk,
            "message": message.pk,
            "channel": message.channel,
            # Not the same when the planned channel was switched off in the channel settings.
            "planned_channel": action.channel or Channel.EMAIL,
            "purpose": message.purpose,
            "drafter": message.drafter,
            "model": message.model,
            "prompt_version": message.prompt_version,
            "fallback": bool(message.fallback_reason),
            "provider": sent.provider,
            "provider_id": sent.provider_id,
        },
    )
    return DeliveryResult("sent", message_id=message.pk)


def _mark_failed(message: OutboundMessage, error: str) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundMessage.Status.FAILED, error=error[:500]
    )
