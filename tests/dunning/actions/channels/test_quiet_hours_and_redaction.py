"""Quiet hours in the customer's clock, and what redaction takes out of ticket text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from dunning.actions.channels.redaction import text_redact
from dunning.decisions.timing.quiet_hours import quiet_hours_next_allowed, quiet_hours_parse

NIGHT = quiet_hours_parse("21:00-08:00")


@pytest.mark.parametrize(
    "utc,zone,expected",
    [
        # 23:30 in Berlin (CET, UTC+1): quiet until 08:00 Berlin = 07:00 UTC next day.
        (
            datetime(2026, 11, 2, 22, 30, tzinfo=UTC),
            "Europe/Berlin",
            datetime(2026, 11, 3, 7, 0, tzinfo=UTC),
        ),
        # 05:00 in Berlin: quiet until 08:00 the same morning.
        (
            datetime(2026, 11, 3, 4, 0, tzinfo=UTC),
            "Europe/Berlin",
            datetime(2026, 11, 3, 7, 0, tzinfo=UTC),
        ),
        # The same instant is mid-afternoon in New York: send now.
        (datetime(2026, 11, 2, 20, 30, tzinfo=UTC), "America/New_York", None),
        # The night the clocks go back in New York (1 Nov 2026): 08:00 EST = 13:00 UTC.
        (
            datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        ),
        # ... and in summer time the morning comes an hour earlier in UTC.
        (
            datetime(2026, 7, 1, 5, 0, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
        ),
        (datetime(2026, 11, 2, 12, 0, tzinfo=UTC), "Europe/Berlin", None),
    ],
)
def test_quiet_hours_end_at_the_customers_morning(utc, zone, expected):
    assert quiet_hours_next_allowed(at=utc, time_zone=zone, quiet=NIGHT) == expected


def test_daytime_quiet_hours_and_switching_them_off():
    lunch = quiet_hours_parse("12:00-13:00")
    at = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)

    assert quiet_hours_next_allowed(at=at, time_zone="UTC", quiet=lunch) == at.replace(
        hour=13, minute=0
    )
    assert quiet_hours_parse("") is None
    with pytest.raises(ImproperlyConfigured):
        quiet_hours_parse("late evening")


def test_ticket_text_loses_emails_phones_card_numbers_amounts_links_and_names():
    text = (
        "Hello, my name is Ana Lima. My card 4111-1111-1111-1111 (cvv 737, ending 1111) was "
        "charged $49.00 twice. Call +49 151 1234 5678 or ana@example.org, details at "
        "https://imgur.example/abc.\nThanks,\nAna"
    )

    redacted = text_redact(text, known_names=["Ana", "Lima", "Limaworks GmbH"])

    for secret in ("Ana", "Lima", "4111", "1111", "737", "49.00", "151", "ana@", "imgur"):
        assert secret not in redacted, secret
    assert "charged [amount] twice" in redacted and "[email]" in redacted
    assert "[card number]" in redacted and "[phone]" in redacted and "[link]" in redacted


def test_redaction_leaves_the_meaning_of_a_ticket():
    text = "I want to cancel my subscription, the product is too slow for our team of 3."

    assert text_redact(text, known_names=["Bo"]) == text
