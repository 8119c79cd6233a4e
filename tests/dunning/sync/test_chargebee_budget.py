"""The shared Chargebee request budget: a token bucket in Redis with priorities."""

from __future__ import annotations

import pytest

from dunning.sync.chargebee_budget import (
    BudgetExhausted,
    Priority,
    budget_acquire,
    budget_status,
    budget_take,
)


@pytest.fixture
def ten_a_minute(settings):
    settings.CHARGEBEE_REQUESTS_PER_MINUTE = 10


def take_until_refused(priority, now=1000.0):
    taken = 0
    while budget_take(priority=priority, now=now) == 0:
        taken += 1
    return taken


def test_a_backfill_leaves_half_the_budget_for_live_work(ten_a_minute):
    assert take_until_refused(Priority.BACKFILL) == 5
    assert take_until_refused(Priority.ENRICH) == 3  # down to the fifth kept for charges
    assert take_until_refused(Priority.EXECUTE) == 2


def test_an_approved_charge_can_use_the_whole_bucket(ten_a_minute):
    assert take_until_refused(Priority.EXECUTE) == 10


def test_refused_call_is_told_how_long_to_wait_and_the_bucket_refills(ten_a_minute):
    take_until_refused(Priority.EXECUTE, now=1000.0)

    wait = budget_take(priority=Priority.EXECUTE, now=1000.0)

    assert wait == pytest.approx(6.0)  # 10 a minute: one token every 6 s
    assert budget_take(priority=Priority.EXECUTE, now=1006.0) == 0


def test_acquire_sleeps_until_a_token_is_free(ten_a_minute):
    take_until_refused(Priority.EXECUTE, now=1000.0)
    clock = {"now": 1000.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    waited = budget_acquire(priority=Priority.EXECUTE, sleep=sleep, clock=lambda: clock["now"])

    assert sleeps == [pytest.approx(6.0)]
    assert waited == pytest.approx(6.0)


def test_acquire_gives_up_with_a_clear_error_past_its_timeout(ten_a_minute):
    take_until_refused(Priority.BACKFILL, now=1000.0)
    with pytest.raises(BudgetExhausted, match="backfill"):
        budget_acquire(
            priority=Priority.BACKFILL, timeout=1, sleep=lambda s: None, clock=lambda: 1000.0
        )


def test_status_shows_tokens_left_and_use_by_priority(ten_a_minute):
    budget_take(priority=Priority.BACKFILL, now=1000.0)
    budget_take(priority=Priority.EXECUTE, now=1000.0)

    status = budget_status(now=1000.0)

    assert (status.per_minute, status.tokens) == (10, 8.0)
    assert status.used_last_minute == {"execute": 1, "enrich": 0, "backfill": 1}


def test_budget_fails_open_when_redis_is_down(ten_a_minute, redis_outage):
    assert budget_acquire(priority=Priority.EXECUTE) == 0.0
