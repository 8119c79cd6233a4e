"""The message an approver reads is the message the customer gets.

At review time the message is drafted with the code that sends it (``case_read`` and the
configured drafter) and kept on the action (``params["draft"]``): the approval's
fingerprint covers it, and delivery sends that draft instead of drafting again. Only the
links are left to send time (Chargebee makes a fresh hosted page then); the approver sees
where they go.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction

from dunning.channels.case_context import MESSAGE_KINDS, DeliveryRefused, case_read
from dunning.channels.drafting import Draft, drafter_configured
from dunning.channels.validation import PLACEHOLDER, draft_problems
from dunning.models import Action, ActionState, Channel

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
        draft, channel=case.channel, required=case.brief.required,
        offers_allowed=case.brief.offers_allowed, filled_lengths=case.brief.filled_lengths,
    )  # fmt: skip
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


def message_draft_keep(*, action: Action) -> Action:
    """Draft ``action``'s message now, if it has none for its channel, and keep it on it."""
    channel = action.channel or Channel.EMAIL
    if action.kind not in MESSAGE_KINDS or not _needs_draft(action, channel):
        return action
    try:
        case = case_read(action=action, links=LINKS_SHOWN, channel=channel)
    except DeliveryRefused:
        return action  # the card says why (message_preview); nothing to keep
    _keep(action, case)
    return action


def message_preview(*, action: Action, keep: bool = False) -> MessagePreview | None:
    """What the customer will receive, placeholders resolved for the approver.

    ``keep``: draft it first if it has no draft yet, and keep that on the action (the card
    of a proposed action); one reading of the case serves both."""
    if action.kind not in MESSAGE_KINDS:
        return None
    channel = action.channel or Channel.EMAIL
    edited = (action.params.get("message_text") or "").strip()
    try:
        case = case_read(action=action, links=LINKS_SHOWN, channel=channel)
    except DeliveryRefused as refused:
        # Not sendable as it stands (no contact for the channel, say): the text, unfilled.
        draft = stored_draft(action, channel=channel)
        text = edited or (draft.body if draft else "")
        return MessagePreview(channel, draft.subject if draft and not edited else "", text, text,
                              refused=str(refused))  # fmt: skip
    if keep and _needs_draft(action, channel):
        _keep(action, case)
    draft = stored_draft(action, channel=channel)
    values = {**case.values, **LINKS_SHOWN}
    if draft is None and not edited:
        return MessagePreview(channel, "", "", "", refused="it could not be drafted yet")
    subject = draft.subject if draft else ""
    text = edited or draft.body
    body = person_text_body(text, required=case.brief.required) if edited else text
    return MessagePreview(channel, _fill(subject, values), _fill(body, values), text)
