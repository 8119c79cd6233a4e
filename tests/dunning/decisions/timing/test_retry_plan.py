"""The retry plan search: where a small budget of retries recovers the most."""

from __future__ import annotations

import numpy as np

from dunning.decisions.timing.retry_plan import retry_plan_search


def test_one_retry_goes_to_the_slot_with_the_best_chance():
    chances = np.array([[0.1, 0.3, 0.5, 0.2]])

    plan = retry_plan_search(chances=chances, worth=np.ones(4), spacing=1)

    assert (plan.first, plan.first_chance, plan.value) == (2, 0.5, 0.5)


def test_two_retries_leave_room_for_the_second_instead_of_taking_the_last_best_slot():
    # The best single slot is the last one, but then no second retry fits after it.
    chances = np.array([[0.4, 0.1, 0.1, 0.45], [0.4, 0.1, 0.1, 0.45]])

    plan = retry_plan_search(chances=chances, worth=np.ones(4), spacing=2)

    assert plan.first == 0
    assert np.isclose(plan.value, 0.4 + 0.6 * 0.45)


def test_money_later_is_worth_less_so_an_equal_chance_sooner_wins():
    chances = np.array([[0.3, 0.3, 0.3]])

    plan = retry_plan_search(chances=chances, worth=np.array([1.0, 0.9, 0.8]), spacing=1)

    assert plan.first == 0


def test_no_plan_when_every_slot_is_under_the_floor():
    chances = np.array([[0.01, 0.02], [0.01, 0.02]])

    assert retry_plan_search(chances=chances, worth=np.ones(2), spacing=1, floor=0.05) is None
