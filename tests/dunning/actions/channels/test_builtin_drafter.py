"""The built-in drafter: copy a customer would find clear, in the right tone and length."""

from __future__ import annotations

import itertools

import pytest

from dunning.actions.channels.builtin_drafter import BuiltinDrafter
from dunning.actions.channels.case_context import decline_in_plain_words, plan_label
from dunning.actions.channels.drafting import DraftBrief
from dunning.actions.channels.validation import draft_problems, filled_length
from dunning.models import Purpose, Transaction

LONG_VALUES = {
    "first_name": 14,
    "amount": 10,
    "pay_link": 60,
    "retry_date": 19,
    "card": 33,
    "survey_link": 110,
}
REASON = "your bank declined it because the card had insufficient funds"


def brief(purpose, channel="email", segment="self_serve", **extra) -> DraftBrief:
    if purpose == Purpose.CSAT_SURVEY:  # the invoice is paid: a survey link, no amount
        required = ("first_name", "survey_link") if channel == "email" else ("survey_link",)
        return DraftBrief(
            purpose=purpose,
            channel=channel,
            segment=segment,
            plan="Pro",
            needs_link=False,
            required=required,
            filled_lengths=LONG_VALUES,
            **extra,
        )
    nothing_owed = purpose == Purpose.PRE_DUNNING_CARD_UPDATE  # before the renewal: no amount
    required = ("first_name",) if channel == "email" else ()
    required += ("amount",) if channel == "email" and not nothing_owed else ()
    required += ("retry_date",) if purpose == Purpose.RETRY_SCHEDULED else ()
    values = dict(
        purpose=purpose,
        channel=channel,
        segment=segment,
        plan="Pro",
        decline_reason=REASON,
        tenure_months=26,
        required=(*required, "pay_link"),
        filled_lengths=LONG_VALUES,
    )
    return DraftBrief(**{**values, **extra})


@pytest.mark.parametrize(
    "purpose,channel,segment",
    list(
        itertools.product(Purpose.values, ("email", "sms", "in_app"), ("self_serve", "enterprise"))
    ),
)
def test_every_purpose_channel_and_tone_passes_the_checks_an_llm_draft_must_pass(
    purpose, channel, segment
):
    b = brief(purpose, channel, segment)
    draft = BuiltinDrafter().draft(b)

    assert (
        draft_problems(draft, channel=channel, required=b.required, filled_lengths=LONG_VALUES)
        == []
    )
    if channel == "sms":
        assert filled_length(draft.body, LONG_VALUES) <= 160


def test_self_serve_customers_get_a_friendly_note_and_enterprise_a_formal_one():
    friendly = BuiltinDrafter().draft(brief(Purpose.PAYMENT_METHOD_UPDATE, variant=0)).body
    formal = (
        BuiltinDrafter()
        .draft(brief(Purpose.PAYMENT_METHOD_UPDATE, segment="enterprise", variant=0))
        .body
    )

    assert friendly.startswith("Hi {first_name},") and "The billing team" in friendly
    assert formal.startswith("Dear {first_name},") and "Kind regards" in formal
    assert "finance team" in formal and "over 2 years" in formal


def test_the_decline_is_explained_in_plain_words_and_the_card_named_by_placeholder():
    draft = BuiltinDrafter().draft(brief(Purpose.PAYMENT_METHOD_UPDATE, variant=0))

    assert "the card had insufficient funds" in draft.body
    assert "{card}" in draft.body and "Pro subscription" in draft.body


def test_customers_do_not_all_receive_the_same_words():
    bodies = {
        BuiltinDrafter().draft(brief(Purpose.RETRY_SCHEDULED, variant=v)).body for v in range(6)
    }
    subjects = {
        BuiltinDrafter().draft(brief(Purpose.RETRY_SCHEDULED, variant=v)).subject for v in range(6)
    }
    assert len(bodies) >= 3 and len(subjects) >= 3


def test_an_sms_with_a_long_link_falls_back_to_a_shorter_wording_that_still_fits():
    short_link = BuiltinDrafter().draft(
        brief(Purpose.RETRY_SCHEDULED, "sms", filled_lengths={**LONG_VALUES, "pay_link": 20})
    )
    long_link = BuiltinDrafter().draft(
        brief(Purpose.RETRY_SCHEDULED, "sms", filled_lengths={**LONG_VALUES, "pay_link": 90})
    )

    assert len(long_link.body) < len(short_link.body)
    assert filled_length(long_link.body, {**LONG_VALUES, "pay_link": 90}) <= 160


def test_a_reminder_says_it_is_one():
    draft = BuiltinDrafter().draft(brief(Purpose.PAYMENT_METHOD_UPDATE, reminder=True))

    assert "reminder" in draft.subject.lower() and "A quick reminder" in draft.body


@pytest.mark.parametrize(
    "fields,words",
    [
        ({"decline_code": "51"}, "insufficient funds"),
        ({"decline_code": "54"}, "has expired"),
        ({"decline_code": "1A"}, "extra security check"),
        ({"error_category": "gateway_error", "error_code": "gateway_timeout"}, "temporary problem"),
        ({"decline_code": "R1"}, "recurring payments on this card were stopped"),
        ({"decline_code": "05"}, "without giving us a reason"),
        ({"decline_code": "zz"}, "your bank declined the payment"),
    ],
)
def test_decline_codes_become_plain_words(fields, words):
    assert words in decline_in_plain_words(Transaction(**fields))


def test_plan_ids_become_plan_names():
    assert plan_label("pro-USD-monthly") == "Pro"
    assert plan_label("business-EUR-yearly") == "Business"
    assert plan_label("") == ""


def test_a_pre_dunning_request_says_nothing_is_owed_and_why_the_card_needs_a_look():
    brief = DraftBrief(
        purpose=Purpose.PRE_DUNNING_CARD_UPDATE,
        channel="email",
        segment="self_serve",
        plan="Pro",
        decline_reason="the card on file expires before the renewal",
        required=("first_name", "pay_link"),
        filled_lengths=LONG_VALUES,
    )
    draft = BuiltinDrafter().draft(brief)

    assert "expires before the renewal" in draft.body
    assert "nothing is owed" in draft.body.lower() or "nothing to pay" in draft.body.lower()
    assert "{pay_link}" in draft.body and "{amount}" not in draft.body
    assert "didn't go through" not in draft.body
