"""The offline reminder sequence: when each reminder goes out, and which ones are still due.

Customers who pay offline (bank transfer, cheque: ``auto_collection`` off in Chargebee) are
never charged by Dunwell; instead their due invoice gets a reminder at the due date, a
second and third one a week and two weeks later, and a final notice. The days are a
versioned settings document (``offline_reminders``, changed by whoever may change the
guardrails, through ``dunning.governance.config_versions``): they are a guardrail on how Dunwell
contacts customers, but a document of their own because the guardrails' table is one
typed row per version shared by every segment, and this sequence is a list of steps.

``offline_steps_plan`` is pure (the decision policy calls it): given the due date, the
moment decided at and the steps already taken, it returns the steps to propose now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dunning.governance.config_versions import ConfigKind, config_current, config_kind_register
from dunning.helpers.message_text import LINK, MONEY, OFFER

STEPS = ("due", "reminder_7", "reminder_14", "final")
STEP_TEMPLATES = {
    "due": "offline_due",
    "reminder_7": "offline_follow_up",
    "reminder_14": "offline_second_follow_up",
    "final": "offline_final_notice",
}
STEP_LABELS = {
    "due": "payment due reminder",
    "reminder_7": "first follow-up",
    "reminder_14": "second follow-up",
    "final": "final notice",
}
PAYMENT_INSTRUCTIONS = (
    "To pay by bank transfer, use the bank details printed on your invoice and quote the "
    "invoice number as the reference. Cheques can be sent to the address on the invoice."
)
DEFAULTS = {
    "due": 0,
    "reminder_7": 7,
    "reminder_14": 14,
    "final": 21,
    "channel": "email",
    "payment_instructions": PAYMENT_INSTRUCTIONS,
}
INSTRUCTIONS_MAX_CHARS = 600
MAX_DAYS = 120


def _problems(data: dict) -> list[str]:
    problems = []
    days = []
    for step in STEPS:
        value = data.get(step)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
            problems.append(f"{step} must be a whole number of days from 0 to {MAX_DAYS}")
        else:
            days.append(value)
    if len(days) == len(STEPS) and days != sorted(set(days)):
        problems.append("each step must come on a later day than the one before")
    if data.get("channel") not in ("email", "sms", "in_app"):
        problems.append("channel must be email, sms or in_app")
    instructions = data.get("payment_instructions", "")
    if not isinstance(instructions, str) or len(instructions) > INSTRUCTIONS_MAX_CHARS:
        problems.append(f"payment_instructions: at most {INSTRUCTIONS_MAX_CHARS} characters")
    elif "{" in instructions or "}" in instructions or LINK.search(instructions):
        problems.append("payment_instructions: no placeholders or links (the link is added)")
    elif MONEY.search(instructions) or OFFER.search(instructions):
        problems.append("payment_instructions: no amounts or offers (messages may not carry them)")
    return problems


OFFLINE_REMINDERS = config_kind_register(
    ConfigKind(
        key="offline_reminders",
        label="Offline reminder schedule",
        change_permission="dunning.change_guardrails",
        defaults=lambda: dict(DEFAULTS),
        problems=_problems,
    )
)


@dataclass(frozen=True)
class OfflineSchedule:
    """Days after the due date for each step, and the channel the reminders go on."""

    days: tuple[tuple[str, int], ...] = tuple((s, DEFAULTS[s]) for s in STEPS)
    channel: str = "email"


def offline_schedule_current() -> OfflineSchedule:
    data = config_current(kind=OFFLINE_REMINDERS)
    if _problems(data):  # a document saved before a rule existed: fall back, never guess
        data = DEFAULTS
    return OfflineSchedule(days=tuple((s, int(data[s])) for s in STEPS), channel=data["channel"])


def offline_payment_instructions() -> str:
    data = config_current(kind=OFFLINE_REMINDERS)
    text = data.get("payment_instructions")
    return text if isinstance(text, str) and not _problems(data) else PAYMENT_INSTRUCTIONS


@dataclass(frozen=True)
class PlannedStep:
    step: str
    at: datetime
    template: str


def offline_steps_plan(
    *, due_at: datetime, at: datetime, schedule: OfflineSchedule, taken: frozenset[str]
) -> tuple[list[PlannedStep], list[str]]:
    """The steps to propose now, and those skipped because their day passed unsent.

    A step already taken (proposed, approved, scheduled, sent, rejected) is never proposed
    again, nor any step before it. Of the steps whose day has passed, only the latest is
    sent now (the customer is not sent three overdue reminders at once); the rest are
    skipped.
    """
    order = [s for s, _ in schedule.days]
    last_taken = max((order.index(s) for s in taken if s in order), default=-1)
    pending = [
        (s, due_at + timedelta(days=d))
        for i, (s, d) in enumerate(schedule.days)
        if s not in taken and i > last_taken
    ]
    past = [(s, when) for s, when in pending if when <= at]
    skipped = [s for s, _ in past[:-1]]
    planned = []
    for step, when in pending:
        if step in skipped:
            continue
        planned.append(PlannedStep(step=step, at=max(when, at), template=STEP_TEMPLATES[step]))
    return planned, skipped


def final_notice_next_step(context) -> str:
    """What the final notice tells the customer happens next, from the end-of-dunning
    settings in the decision's context (``final_actions``: the kinds a manager is asked
    to approve when dunning ends). Plain words, no amounts or names: drafters may see it."""
    kinds = set(context.final_actions)
    if "cancel_subscription" in kinds and context.subscription_active:
        return (
            "If we have not received the payment within a few days, your subscription will be "
            "cancelled."
        )
    if kinds & {"write_off", "void"}:
        return (
            "If we have not received the payment within a few days, your account will be "
            "closed for non-payment and passed to our accounts team."
        )
    return (
        "If we have not received the payment within a few days, our accounts team will "
        "contact you directly about the open invoice."
    )
