"""The default drafter: written copy, personalised from the case, no model needed.

Each purpose has a few phrasings of every part (subject, what happened, what happens next,
what to do), picked by the brief's ``variant`` so a customer base does not all receive the
same words. Self-serve customers get a friendly tone, growth and enterprise a more formal
one, unless the dunning sequence (dunning/decisions/policy_settings/sequence.py) names a tone;
long-standing customers are thanked for it. SMS and in-app texts are tried from the
fullest to the shortest and the first that fits the channel (with the real lengths of the
values that will be filled in) is used. Most of its length is that copy (``Tone``), kept
beside the code that picks from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dunning.actions.channels.drafting import LENGTH_LIMITS, Draft, DraftBrief
from dunning.actions.channels.validation import filled_length

MANY_SPACES = re.compile(r"(?<=\S) {2,}")


@dataclass(frozen=True)
class Tone:
    greeting: tuple[str, ...]
    closing: str
    help_line: str


FRIENDLY = Tone(
    greeting=("Hi {first_name},", "Hello {first_name},", "Hi {first_name},"),
    closing="Thanks,\nThe billing team",
    help_line="Questions? Just reply to this email and a real person will get back to you.",
)
FORMAL = Tone(
    greeting=("Dear {first_name},", "Hello {first_name},"),
    closing="Kind regards,\nAccounts team",
    help_line=(
        "If your finance team needs a copy of the invoice or would prefer another way to pay, "
        "reply to this email and we will arrange it."
    ),
)
FIRM = Tone(
    greeting=("Dear {first_name},", "{first_name},"),
    closing="Accounts team",
    help_line=(
        "Please settle this promptly to avoid any interruption. If something prevents you from "
        "paying, reply to this email today."
    ),
)
TONE_NAMES = {"friendly": FRIENDLY, "formal": FORMAL, "firm": FIRM}

SUBJECTS = {
    "retry_scheduled": (
        "Your {plan} payment didn't go through",
        "We couldn't process your {plan} payment",
        "A quick note about your {plan} payment",
    ),
    "payment_method_update": (
        "Action needed: update your payment details",
        "Please update the card for your {plan} subscription",
    ),
    "authentication_needed": (
        "Please confirm your {plan} payment",
        "Your bank is asking you to approve a payment",
    ),
    "offline_reminder": (
        "Reminder: your {plan} invoice is due",
        "Your {plan} invoice is waiting for payment",
    ),
    "final_notice": (
        "Final notice: your {plan} subscription is at risk",
        "Last reminder before your {plan} service is interrupted",
    ),
    "csat_survey": (
        "How did we do with your {plan} billing?",
        "One quick question about your recent payment",
    ),
    # Offline payers: the tone rises politely from a heads-up to a final notice.
    "offline_due": (
        "Your {plan} invoice is due today",
        "Invoice for your {plan} subscription: payment due",
    ),
    "offline_follow_up": (
        "Friendly reminder: your {plan} invoice is now overdue",
        "Has your {plan} payment crossed in the post?",
    ),
    "offline_second_follow_up": (
        "Second reminder: your {plan} invoice is still unpaid",
        "Please arrange payment of your overdue {plan} invoice",
    ),
    "offline_final_notice": (
        "Final notice: your {plan} invoice is overdue",
        "Final notice before we act on your unpaid {plan} invoice",
    ),
    "pre_dunning_card_update": (
        "Your {plan} renewal is coming up: is your card up to date?",
        "Please check the card for your {plan} subscription before it renews",
    ),
}
REMINDER_SUBJECTS = (
    "Reminder: your payment details still need updating",
    "Still outstanding: your {plan} payment",
)

WHAT_HAPPENED = {
    "retry_scheduled": (
        "We tried to collect {amount} from {card} for your {plan} subscription, but {reason}.",
        "Your latest {plan} payment of {amount} didn't go through: {reason}.",
        "We weren't able to take this month's {amount} payment for your {plan} subscription: "
        "{reason}.",
    ),
    "payment_method_update": (
        "We couldn't collect {amount} from {card} for your {plan} subscription: {reason}.",
        "We tried to take the {amount} payment for your {plan} subscription, but {reason}.",
    ),
    "authentication_needed": (
        "Your bank wants you to confirm the {amount} payment for your {plan} subscription "
        "before it approves it.",
        "The {amount} payment for your {plan} subscription is waiting for your approval: "
        "your bank asked for an extra security check.",
    ),
    "offline_reminder": (
        "This is a friendly reminder that the invoice for your {plan} subscription, {amount}, "
        "is now due.",
        "The {amount} invoice for your {plan} subscription is now due.",
    ),
    "final_notice": (
        "We have tried several times to collect {amount} for your {plan} subscription, "
        "without success.",
        "The {amount} payment for your {plan} subscription is still outstanding after several "
        "attempts.",
    ),
    "csat_survey": (
        "Your {plan} account is all settled: thank you.",
        "Everything is sorted with your {plan} payment. Thanks for your patience while we "
        "worked on it.",
    ),
    "offline_due": (
        "The invoice for your {plan} subscription, {amount}, is due for payment today.",
        "Your {plan} invoice of {amount} is due today.",
    ),
    "offline_follow_up": (
        "We haven't yet received the {amount} payment for your {plan} invoice, which was due "
        "a week ago. It may simply have crossed with this message.",
        "Our records show the {amount} invoice for your {plan} subscription as unpaid one "
        "week after its due date.",
    ),
    "offline_second_follow_up": (
        "The {amount} invoice for your {plan} subscription is now two weeks overdue, and we "
        "still have no record of the payment.",
        "Despite our earlier reminders, the {amount} invoice for your {plan} subscription "
        "remains unpaid two weeks after its due date.",
    ),
    "offline_final_notice": (
        "This is our final notice about the {amount} invoice for your {plan} subscription, "
        "which remains unpaid after several reminders.",
        "The {amount} invoice for your {plan} subscription is still unpaid, and this is the "
        "last reminder we will send.",
    ),
    "pre_dunning_card_update": (
        "Your {plan} subscription renews soon, and we want it to go through smoothly, but "
        "{reason}.",
        "Ahead of your next {plan} renewal we noticed that {reason}.",
    ),
}
REMINDER_OPENING = (
    "A quick reminder: the {amount} payment for your {plan} subscription is still "
    "outstanding. When we last tried, {reason}."
)

WHAT_NEXT = {
    "retry_scheduled": (
        "There's nothing you need to do right now: we'll try again on {retry_date}.",
        "We'll automatically try the payment again on {retry_date}.",
    ),
    "payment_method_update": (
        "To keep your account running without interruption, please add a new card or "
        "payment method. It takes about a minute, and we'll take the payment as soon as it's in.",
        "Once you've updated your payment details, we'll collect the payment straight away and "
        "your account carries on as before.",
    ),
    "authentication_needed": (
        "This is a standard security step, often a code sent to your phone or a prompt in your "
        "banking app. Once you confirm, the payment completes and nothing else changes.",
    ),
    "offline_reminder": (
        "If you've already sent the payment, thank you, and please disregard this message.",
    ),
    "final_notice": (
        "Unless the payment is made, we will have to interrupt your service. We would much "
        "rather keep it running.",
    ),
    "csat_survey": (
        "We'd like to know how the billing issue was handled, so we can do better next time.",
    ),
    "offline_due": ("{instructions} If you've already sent it, thank you.",),
    "offline_follow_up": (
        "{instructions} If you've paid in the last few days, thank you, and please ignore "
        "this reminder.",
    ),
    "offline_second_follow_up": (
        "Please arrange the payment this week. {instructions} If something is holding it up, "
        "reply and tell us: we are happy to help.",
    ),
    "offline_final_notice": (
        "{next_step} Please pay now to avoid this. {instructions} If you have already paid, "
        "reply with the payment date and reference so we can match it.",
    ),
    "pre_dunning_card_update": (
        "Nothing has gone wrong and nothing is owed. Checking or replacing the card takes about "
        "a minute and keeps your account running without interruption at renewal.",
        "There is nothing to pay now. If the card on file is still good, you can ignore this "
        "message; if not, updating it now avoids a failed payment later.",
    ),
}

CALL_TO_ACTION = {
    "retry_scheduled": "If you'd rather use a different card, you can update it here: {pay_link}",
    "payment_method_update": "Update your payment details here: {pay_link}",
    "authentication_needed": "Confirm the payment here: {pay_link}",
    "offline_reminder": "You can pay it online here: {pay_link}",
    "final_notice": "Pay now or update your payment details here: {pay_link}",
    "csat_survey": "One question, one click: {survey_link}",
    "offline_due": "Your invoice, with the option to pay online: {pay_link}",
    "offline_follow_up": "Your invoice, with the option to pay online: {pay_link}",
    "offline_second_follow_up": "View and pay the invoice here: {pay_link}",
    "offline_final_notice": "View and pay the invoice now: {pay_link}",
    "pre_dunning_card_update": "Check or update your card here: {pay_link}",
}

# Short texts, fullest first, each with the link sentence it ends with when the action has
# a link; the first that fits the channel wins.
SHORT = {
    "retry_scheduled": (
        (
            "Hi {first_name}, your {plan} payment of {amount} didn't go through ({short_reason}). "
            "We'll retry on {retry_date}.",
            " To use another card: {pay_link}",
        ),
        (
            "{first_name}, your {plan} payment of {amount} failed. We'll retry {retry_date}.",
            " Update card: {pay_link}",
        ),
        ("Payment of {amount} failed, retry {retry_date}.", " Card: {pay_link}"),
    ),
    "payment_method_update": (
        (
            "Hi {first_name}, your {plan} payment of {amount} was declined ({short_reason}).",
            " Please update your card: {pay_link}",
        ),
        ("{first_name}, your {amount} payment was declined.", " Update your card: {pay_link}"),
        ("Payment declined.", " Update card: {pay_link}"),
    ),
    "authentication_needed": (
        (
            "Hi {first_name}, your bank needs you to confirm the {amount} payment for your {plan} "
            "plan.",
            " Confirm here: {pay_link}",
        ),
        ("{first_name}, please confirm your {amount} payment.", " {pay_link}"),
        ("Confirm your payment:", " {pay_link}"),
    ),
    "offline_reminder": (
        ("Hi {first_name}, your {plan} invoice of {amount} is due.", " Pay online: {pay_link}"),
        ("Invoice of {amount} due.", " Pay: {pay_link}"),
    ),
    "final_notice": (
        (
            "{first_name}, final notice: {amount} for your {plan} plan is unpaid and your service "
            "will be interrupted.",
            " Pay or update your card: {pay_link}",
        ),
        ("Final notice: {amount} unpaid.", " Pay now: {pay_link}"),
    ),
    "csat_survey": (
        (
            "Hi {first_name}, your {plan} billing is sorted. How did we do? Rate us 1-5:",
            " {survey_link}",
        ),
        ("Rate your billing support:", " {survey_link}"),
    ),
    "offline_due": (
        (
            "Hi {first_name}, your {plan} invoice of {amount} is due today.",
            " Invoice and payment options: {pay_link}",
        ),
        ("Invoice of {amount} due today.", " {pay_link}"),
    ),
    "offline_follow_up": (
        (
            "Hi {first_name}, a friendly reminder: your {plan} invoice of {amount} is a week "
            "overdue.",
            " Invoice: {pay_link}",
        ),
        ("Reminder: {amount} invoice overdue.", " {pay_link}"),
    ),
    "offline_second_follow_up": (
        (
            "{first_name}, your {plan} invoice of {amount} is two weeks overdue. Please arrange "
            "payment.",
            " Invoice: {pay_link}",
        ),
        ("Second reminder: {amount} overdue.", " {pay_link}"),
    ),
    "offline_final_notice": (
        (
            "{first_name}, final notice: your {plan} invoice of {amount} is unpaid.",
            " Pay now: {pay_link}",
        ),
        ("Final notice: {amount} unpaid.", " {pay_link}"),
    ),
    "pre_dunning_card_update": (
        (
            "Hi {first_name}, your {plan} plan renews soon and {short_reason}.",
            " Update your card: {pay_link}",
        ),
        ("{first_name}, please check your card before your {plan} renewal.", " {pay_link}"),
        ("Renewal soon: please check your card.", " {pay_link}"),
    ),
}
NO_LINK = " Reply to this message if you need help."


class BuiltinDrafter:
    name = "builtin"

    def draft(self, brief: DraftBrief) -> Draft:
        if brief.channel == "email":
            return Draft(subject=self._subject(brief), body=self._email(brief), drafter=self.name)
        return Draft(subject="", body=self._short(brief), drafter=self.name)

    def _subject(self, brief: DraftBrief) -> str:
        options = REMINDER_SUBJECTS if brief.reminder else SUBJECTS[brief.purpose]
        return _fill(_pick(options, brief.variant), brief)

    def _email(self, brief: DraftBrief) -> str:
        tone = TONE_NAMES.get(brief.tone) or (FRIENDLY if brief.segment == "self_serve" else FORMAL)
        opening = (
            REMINDER_OPENING
            if brief.reminder and brief.decline_reason
            else _pick(WHAT_HAPPENED[brief.purpose], brief.variant)
        )
        paragraphs = [
            _pick(tone.greeting, brief.variant),
            opening,
            _pick(WHAT_NEXT[brief.purpose], brief.variant + 1),
        ]
        if _has_link(brief):
            paragraphs.append(CALL_TO_ACTION[brief.purpose])
        if brief.purpose != "csat_survey" and (
            thanks := _tenure_line(brief, formal=tone is not FRIENDLY)
        ):
            paragraphs.append(thanks)
        paragraphs += [tone.help_line, tone.closing]
        return _fill("\n\n".join(paragraphs), brief)

    def _short(self, brief: DraftBrief) -> str:
        limit = LENGTH_LIMITS[brief.channel]
        candidates = [
            _fill(text + (link if _has_link(brief) else NO_LINK), brief)
            for text, link in SHORT[brief.purpose]
        ]
        for text in candidates:
            if filled_length(text, brief.filled_lengths) <= limit:
                return text
        return candidates[-1]


def _has_link(brief: DraftBrief) -> bool:
    return brief.needs_link or "survey_link" in brief.required


def _pick(options: tuple[str, ...], variant: int) -> str:
    return options[variant % len(options)]


def _fill(text: str, brief: DraftBrief) -> str:
    """Put the non-identifying context in; the customer's placeholders stay for delivery."""
    reason = brief.decline_reason or (
        "the card on file may not go through"
        if brief.purpose == "pre_dunning_card_update"
        else "the payment didn't go through"
    )
    text = (
        text.replace("{plan}", brief.plan)
        .replace("{instructions}", brief.payment_instructions)
        .replace("{next_step}", brief.next_step)
        .replace("{reason}", reason)
        .replace("{short_reason}", _short_reason(reason))
    )
    return MANY_SPACES.sub(" ", text)


def _short_reason(reason: str) -> str:
    """The gist of a plain-words reason, for texts of a couple of lines."""
    for key, short in (
        ("expires before", "your card expires before then"),
        ("was declined", "a recent payment was declined"),
        ("insufficient funds", "insufficient funds"),
        ("expired", "card expired"),
        ("temporary", "a temporary bank problem"),
        ("security check", "bank security check"),
        ("fraud", "blocked by the bank"),
        ("stopped", "recurring payments stopped"),
    ):
        if key in reason:
            return short
    return "declined by the bank"


def _tenure_line(brief: DraftBrief, *, formal: bool) -> str:
    years = brief.tenure_months // 12
    if years >= 1:
        span = "over a year" if years == 1 else f"over {years} years"
        if formal:
            return (
                f"You have been with us for {span}, and we want to make sure your service "
                "continues without interruption."
            )
        return f"You've been with us for {span}. We'd hate for a payment hiccup to get in the way."
    if brief.tenure_months < 3 and not formal:
        return "Thanks for joining us recently. We want your first months to go smoothly."
    return ""
