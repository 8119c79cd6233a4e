"""bench/card_update_recovery.py's engine: a new card is charged within minutes in real time,
where Chargebee's batch schedule makes it wait for the next scheduled retry."""

from __future__ import annotations

import pytest

from sandbox.simulator.card_update_replay import WAYS, card_update_evaluate, report_lines


@pytest.fixture(scope="module")
def evaluation():
    return card_update_evaluate(customers=800, months=9, seed=1, cold_start=True)


def test_real_time_recovers_within_the_hour_of_a_card_update_where_batch_waits(evaluation):
    batch, live, with_updater = (evaluation.tallies[name] for name in WAYS)

    assert batch.recovered_after_update > 5 and live.recovered_after_update > 5
    assert live.quantile(0.5) < 1 < batch.quantile(0.5)
    assert with_updater.quantile(0.9) < 1


def test_only_the_card_updater_recovers_expired_cards_without_asking_the_customer(evaluation):
    batch, live, with_updater = (evaluation.tallies[name] for name in WAYS)

    assert batch.expired == live.expired == with_updater.expired > 0
    assert batch.expired_without_asking == live.expired_without_asking == 0
    assert with_updater.expired_without_asking > 0
    assert with_updater.updater_lookups >= with_updater.expired


def test_the_report_names_each_way_with_median_and_p90_hours(evaluation):
    lines = report_lines(evaluation)

    assert "median h" in lines[0] and "p90 h" in lines[0] and "without asking" in lines[0]
    assert [line[:34].strip() for line in lines[2:5]] == list(WAYS)
