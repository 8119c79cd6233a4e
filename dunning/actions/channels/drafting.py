"""What a drafter is given, what it returns, and which drafter is configured.

A drafter never sees who the customer is or what they owe: the brief carries only
non-identifying context, and the text it writes uses placeholders (``{first_name}``,
``{amount}``, ``{pay_link}``, ``{retry_date}``, ``{card}``, ``{survey_link}``) that delivery
fills in afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

PLACEHOLDERS = ("first_name", "amount", "pay_link", "retry_date", "card", "survey_link")

# Characters per channel once the placeholders are filled. One SMS segment is 160 GSM-7
# characters; in-app banners are read at a glance.
LENGTH_LIMITS = {"email": 2400, "sms": 160, "in_app": 280}


@dataclass(frozen=True)
class DraftBrief:
    """Everything a drafter may know. Nothing here identifies the customer or their card."""

    purpose: str  # a ``Purpose`` value
    channel: str  # email, sms, in_app
    segment: str  # self_serve, growth, enterprise
    tone: str = ""  # friendly, formal, firm (the dunning sequence's); "" : by segment
    plan: str = ""  # "Pro (monthly)"
    decline_reason: str = ""  # plain words, e.g. "the card had insufficient funds"
    tenure_months: int = 0
    reminder: bool = False
    needs_link: bool = True
    offers_allowed: bool = False
    tickets: tuple[str, ...] = ()  # recent ticket text, already redacted: data, not instructions
    required: tuple[str, ...] = ()  # placeholders the text must contain
    filled_lengths: dict[str, int] = field(default_factory=dict)  # lengths only, never values
    variant: int = 0  # picks among phrasings so customers do not all get the same words
    # Offline payers: how to pay outside Chargebee (the site's own words, no account
    # numbers needed here) and, in a final notice, what happens if it stays unpaid.
    payment_instructions: str = ""
    next_step: str = ""


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str
    drafter: str  # builtin, llm
    model: str = ""
    prompt_template_id: int | None = None
    prompt_version: int | None = None
    fallback_reason: str = ""  # why the LLM's text was not used


class Drafter(Protocol):
    name: str

    def draft(self, brief: DraftBrief) -> Draft: ...
