"""The prior: what is known about when declined cards recover, before any site data."""

from __future__ import annotations

from datetime import datetime, timedelta

from dunning.decisions.context import DecisionContext
from dunning.decisions.learning.retry_prior import PriorRetryScorer
from dunning.decisions.rules.network_rules import Decline
from tests.dunning.decisions.test_policy import FAILED_AT, context  # a Monday, 08:00 in Chicago


def failed(code: str = "51", **overrides) -> DecisionContext:
    decline = Decline(brand="visa", decline_code=code, error_category="soft_decline")
    return context(decline=decline, **overrides)


def chance(context: DecisionContext, at: datetime) -> float:
    [value] = PriorRetryScorer().slot_probabilities(context=context, slots=[at])
    return value


def test_lack_of_funds_recovers_more_once_a_common_payday_has_passed():
    thursday = FAILED_AT + timedelta(days=3)  # Thu 5 Nov, 08:00 local
    saturday = FAILED_AT + timedelta(days=5)  # Sat 7 Nov: Friday's pay has landed

    assert chance(failed("51"), saturday) > 1.3 * chance(failed("51"), thursday)


def test_morning_beats_the_middle_of_the_night_in_the_customers_time():
    morning = FAILED_AT + timedelta(days=5)  # 08:00 in Chicago
    night = morning - timedelta(hours=5)  # 03:00 in Chicago

    assert chance(failed(), morning) > chance(failed(), night)
    # The same UTC moment is morning in Berlin and night in Chicago.
    berlin = failed(country="DE", time_zone="Europe/Berlin")
    assert chance(berlin, night) > chance(failed(), night)


def test_a_temporary_decline_is_worth_retrying_within_hours_but_not_at_once():
    issuer_down = failed("91")

    soon = chance(issuer_down, FAILED_AT + timedelta(minutes=30))
    later = chance(issuer_down, FAILED_AT + timedelta(hours=4))

    assert later > 0.3 and soon < later


def test_each_further_decline_lowers_the_next_retrys_chance():
    at = FAILED_AT + timedelta(days=5)

    assert chance(failed(invoice_failures=3), at) < chance(failed(invoice_failures=1), at)
