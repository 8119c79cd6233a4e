"""The message an approver reads is the message the customer gets.

At review time the message is drafted with the code that sends it (``case_read`` and the
configured drafter) and kept on the action (``params["draft"]``): the approval's
fingerprint covers it, and delivery sends that draft instead of drafting again. Only the
links are left to send time (Chargebee makes a fresh hosted page then); the approver sees
where they go.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import partial

from django.db import transaction
from redis.exceptions import RedisError

from dunning.actions.channels.case_context import (
    MESSAGE_KINDS,
    CaseFacts,
    DeliveryRefused,
    case_facts_read,
    case_read,
)
from dunning.actions.channels.drafters import drafter_configured
from dunning.actions.channels.drafting import Draft
from dunning.actions.channels.validation import PLACEHOLDER, draft_problems
from dunning.helpers.queueing import get_queue
from dunning.models import Action, ActionState, Channel

logger = logging.getLogger(__name__)

# What an approver sees where the customer will see a link made at send time.
LINKS_SHOWN = {
    "pay_link": "[link to pay or update the card, made by Chargebee when it is sent]",
    "survey_link": "[link to the satisfaction survey]",
}


@dataclass(frozen=True)
class MessagePreview:
    channel: str
    subject: str  # as the customer reads it (links: where they go)
    body: str
    text: str  # the body with its placeholders: what an edit starts from
    refused: str = ""  # why it will not be sent, if it will not
    drafting: bool = False  # no draft yet: its job drafts it (the approval waits for it)


# Drafts happen when an action is proposed (``message_draft_enqueue``); a page drafts at most
# this many of its cards whose job has not run yet, and asks the job for the rest.
DRAFTS_ON_VIEW = 3
# The same for a bulk approval's count: the others are left out of it until drafted.
DRAFTS_ON_BULK_VIEW = 20
BEING_DRAFTED = "it is being drafted; reload in a moment to read it"


def stored_draft(action: Action, *, channel: str) -> Draft | None:
    """The draft kept on the action for ``channel`` (another channel's draft does not fit)."""
    kept = action.params.get("draft")
    if not isinstance(kept, dict) or kept.get("channel") != channel:
        return None
    return Draft(**{name: value for name, value in kept.items() if name != "channel"})


def person_text_body(text: str, *, required) -> str:
    """A person's text as sent: the placeholders the action needs are ensured (the link
    goes on its own line if the text left it out)."""
    missing = [name for name in required if "{" + name + "}" not in text]
    return "\n\n".join([text, *("{" + name + "}" for name in missing)])


def _fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _keep(action: Action, case) -> None:
    """Draft ``action``'s message for ``case`` and keep it on the action (if still as read)."""
    draft = drafter_configured().draft(case.brief)
    problems = draft_problems(
        draft,
        channel=case.channel,
        required=case.brief.required,
        offers_allowed=case.brief.offers_allowed,
        filled_lengths=case.brief.filled_lengths,
    )
    if problems:
        return
    with transaction.atomic():
        current = Action.objects.select_for_update().get(pk=action.pk)
        if current.state != ActionState.PROPOSED or current.params != action.params:
            return  # changed meanwhile: the next look drafts for what it is now
        params = {**current.params, "draft": {**asdict(draft), "channel": case.channel}}
        Action.objects.filter(pk=action.pk).update(params=params)
    action.params = params


def _needs_draft(action: Action, channel: str) -> bool:
    # Only while it waits for approval: what is approved or sent is never redrafted.
    return action.state == ActionState.PROPOSED and stored_draft(action, channel=channel) is None


def message_draft_keep(*, action: Action, facts: CaseFacts | None = None) -> Action:
    """Draft ``action``'s message now, if it has none for its channel, and keep it on it."""
    channel = action.channel or Channel.EMAIL
    if action.kind not in MESSAGE_KINDS or not _needs_draft(action, channel):
        return action
    try:
        case = case_read(action=action, links=LINKS_SHOWN, channel=channel, facts=facts)
    except DeliveryRefused:
        return action  # the card says why (message_preview); nothing to keep
    _keep(action, case)
    return action


def message_draft_enqueue(*, action: Action) -> None:
    """After the commit, ask a job to draft the action's message and keep it (a message
    waiting for approval: its approver reads the draft the customer will get)."""
    if action.kind in MESSAGE_KINDS and action.state == ActionState.PROPOSED:
        transaction.on_commit(partial(_draft_job_enqueue, action.pk), robust=True)


def draft_message_job(action_id: int) -> bool:
    """Draft a proposed action's message and keep it (nothing to do if it has one)."""
    return message_draft_keep_by_id(action_id=action_id)


def _draft_job_enqueue(action_id: int) -> None:
    try:  # one job per action: asking again while it waits adds nothing
        get_queue("default").enqueue(
            draft_message_job, action_id, job_id=f"draft-message-{action_id}", failure_ttl=86400
        )
    except (RedisError, OSError) as error:  # the card drafts it (or asks again) when viewed
        logger.warning("could not enqueue the draft of action %s: %s", action_id, error)


def message_draft_keep_by_id(*, action_id: int) -> bool:
    """The job's work: draft the proposed action's message if it has none. True if it has one."""
    action = Action.objects.select_related("decision").filter(pk=action_id).first()
    if action is None:
        return False
    message_draft_keep(action=action)
    return stored_draft(action, channel=action.channel or Channel.EMAIL) is not None


def _missing_draft(action: Action) -> bool:
    return action.kind in MESSAGE_KINDS and _needs_draft(action, action.channel or Channel.EMAIL)


def _drafts_split(actions: list[Action], drafts_on_view: int) -> tuple[list[Action], list[Action]]:
    """The actions without a draft: those this view drafts (at most ``drafts_on_view``) and
    those asked of the draft job (each enqueued once after the commit)."""
    missing = [action for action in actions if _missing_draft(action)]
    for action in missing[drafts_on_view:]:
        message_draft_enqueue(action=action)
    return missing[:drafts_on_view], missing[drafts_on_view:]


def message_drafts_bounded(*, actions: list[Action], drafts_on_view: int) -> set[int]:
    """Draft and keep the missing drafts of at most ``drafts_on_view`` of ``actions`` (read
    together); the job drafts the others: their ids. (One tried here and not drafted cannot
    be sent as it stands, a customer without a contact say: it is counted as before.)"""
    drafting, waiting = _drafts_split(actions, drafts_on_view)
    facts = case_facts_read(invoice_ids=[a.invoice_id for a in drafting])
    for action in drafting:
        message_draft_keep(action=action, facts=facts.get(action.invoice_id))
    return {a.pk for a in waiting}


def message_previews(
    *, actions: list[Action], drafts_on_view: int = DRAFTS_ON_VIEW
) -> dict[int, MessagePreview | None]:
    """The previews of a page of cards, from one reading of their invoices (four queries).

    Cards whose proposal-time draft is missing are drafted here, at most ``drafts_on_view``
    of them; the others are asked of the draft job and say they are being drafted."""
    facts = case_facts_read(invoice_ids=[a.invoice_id for a in actions if a.kind in MESSAGE_KINDS])
    drafting, _ = _drafts_split(actions, drafts_on_view)
    drafted_here = {a.pk for a in drafting}
    return {
        action.pk: message_preview(
            action=action,
            keep=action.pk in drafted_here,
            facts=facts.get(action.invoice_id),
            drafting=action.pk not in drafted_here,
        )
        for action in actions
    }


def message_preview(
    *, action: Action, keep: bool = False, facts: CaseFacts | None = None, drafting: bool = False
) -> MessagePreview | None:
    """What the customer will receive, placeholders resolved for the approver.

    ``keep``: draft it first if it has no draft yet, and keep that on the action (the card
    of a proposed action); one reading of the case serves both. ``facts``: that reading,
    done for the page. ``drafting``: a missing draft is on its way (its job was asked)."""
    if action.kind not in MESSAGE_KINDS:
        return None
    channel = action.channel or Channel.EMAIL
    edited = (action.params.get("message_text") or "").strip()
    try:
        case = case_read(action=action, links=LINKS_SHOWN, channel=channel, facts=facts)
    except DeliveryRefused as refused:
        # Not sendable as it stands (no contact for the channel, say): the text, unfilled.
        draft = stored_draft(action, channel=channel)
        text = edited or (draft.body if draft else "")
        return MessagePreview(
            channel, draft.subject if draft and not edited else "", text, text, refused=str(refused)
        )
    if keep and _needs_draft(action, channel):
        _keep(action, case)
    draft = stored_draft(action, channel=channel)
    values = {**case.values, **LINKS_SHOWN}
    if draft is None and not edited:
        if drafting and _needs_draft(action, channel):
            return MessagePreview(channel, "", "", "", refused=BEING_DRAFTED, drafting=True)
        return MessagePreview(channel, "", "", "", refused="it could not be drafted yet")
    subject = draft.subject if draft else ""
    text = edited or draft.body
    body = person_text_body(text, required=case.brief.required) if edited else text
    return MessagePreview(channel, _fill(subject, values), _fill(body, values), text)
