"""What an offline payer reads: each step its own purpose and words, escalating politely,
with the way to pay offline and the invoice link; the final notice says what happens next."""

from __future__ import annotations

import pytest

from dunning.actions.channels.builtin_drafter import BuiltinDrafter
from dunning.actions.channels.drafting import DraftBrief
from dunning.actions.channels.validation import draft_problems
from dunning.decisions.policy_settings.offline_reminders import PAYMENT_INSTRUCTIONS, STEP_TEMPLATES

NEXT = "If we have not received the payment within a few days, your subscription will be cancelled."
LENGTHS = {"first_name": 5, "amount": 10, "pay_link": 48, "retry_date": 0, "card": 0}


def draft(purpose: str, channel: str = "email", segment: str = "self_serve"):
    required = ("first_name", "amount", "pay_link") if channel == "email" else ("pay_link",)
    brief = DraftBrief(
        purpose=purpose,
        channel=channel,
        segment=segment,
        plan="Business (monthly)",
        required=required,
        filled_lengths=LENGTHS,
        payment_instructions=PAYMENT_INSTRUCTIONS,
        next_step=NEXT if purpose == "offline_final_notice" else "",
    )
    return brief, BuiltinDrafter().draft(brief)


@pytest.mark.parametrize("purpose", list(STEP_TEMPLATES.values()))
@pytest.mark.parametrize("channel", ["email", "sms", "in_app"])
def test_every_step_drafts_a_valid_message_with_the_invoice_link(purpose, channel):
    brief, text = draft(purpose, channel)

    assert (
        draft_problems(text, channel=channel, required=brief.required, filled_lengths=LENGTHS) == []
    )
    assert "{pay_link}" in text.body


def test_emails_carry_the_bank_transfer_and_cheque_instructions():
    for purpose in STEP_TEMPLATES.values():
        _, text = draft(purpose)
        assert "bank transfer" in text.body and "Cheques" in text.body


def test_the_tone_rises_politely_from_due_to_final_notice():
    subjects = [draft(p)[1].subject for p in STEP_TEMPLATES.values()]

    assert "due" in subjects[0].lower() and "overdue" not in subjects[0].lower()
    assert "overdue" in subjects[1].lower() or "crossed" in subjects[1].lower()
    assert "second reminder" in subjects[2].lower() or "overdue" in subjects[2].lower()
    assert subjects[3].startswith("Final notice")
    assert len(set(subjects)) == 4


def test_the_final_notice_says_what_happens_next():
    _, text = draft("offline_final_notice", segment="enterprise")

    assert NEXT in text.body
    assert "Dear {first_name}" in text.body  # formal with larger accounts
