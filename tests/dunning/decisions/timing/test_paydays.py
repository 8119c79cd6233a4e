"""A customer's likely payday, learnt from when their own earlier declines cleared."""

from __future__ import annotations

from datetime import UTC, datetime

from dunning.decisions.learning.retry_prior import PAYDAY_SHARES
from dunning.decisions.timing.paydays import payday_shares


def at(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def test_declines_that_cleared_just_after_the_first_make_the_first_their_likely_payday():
    # Declined on the last business day (Tue 30 Jun, Wed 30 Sep 2026), paid the next day:
    # only the 1st fell in between, no Friday, no 15th or 25th.
    recoveries = [
        (at("2026-06-30T18:00"), at("2026-07-01T15:00")),
        (at("2026-09-30T18:00"), at("2026-10-01T15:00")),
    ]

    shares = dict(payday_shares(recoveries=recoveries, time_zone="America/Chicago"))

    assert max(shares, key=shares.get) == "first"
    assert shares["first"] > 2 * PAYDAY_SHARES["first"]
    assert abs(sum(shares.values()) - 1) < 1e-3


def test_a_customer_with_no_such_history_keeps_the_pooled_shares():
    assert payday_shares(recoveries=[], time_zone="Europe/Berlin") == ()
