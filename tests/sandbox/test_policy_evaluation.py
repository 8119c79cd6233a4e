"""evaluate_policy: Dunwell beside Chargebee's schedules and an oracle, on several worlds."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sandbox.simulator import parameters as p
from sandbox.simulator.policy_evaluation import (
    COLD,
    CUSTOM,
    SMART,
    dunwell_name,
    oracle_name,
    policy_evaluate,
    report_lines,
    summary_lines,
)
from sandbox.simulator.worlds import world_applied, world_draw


@pytest.fixture(scope="module")
def small_world():
    return policy_evaluate(customers=700, months=9, seed=2, budgets=(4,))


def test_dunwell_and_the_oracle_never_break_a_network_rule_and_beat_the_fixed_schedule(
    small_world,
):
    t = small_world.tallies
    custom, dunwell, oracle, cold = t[CUSTOM], t[dunwell_name(4)], t[oracle_name(4)], t[COLD]

    assert small_world.invoices > 30 and not small_world.cold_start
    assert dunwell.violations == oracle.violations == cold.violations == 0
    assert custom.violations > 0  # fixed schedules retry where the networks say never/wait
    assert dunwell.revenue_recovered > custom.revenue_recovered
    assert cold.revenue_recovered > custom.revenue_recovered
    assert dunwell.retries <= 4 * dunwell.invoices + dunwell.invoices  # + one per new card
    assert len({tally.invoices for tally in t.values()}) == 1


def test_report_gives_each_policys_share_of_the_oracle_and_the_summary_its_worst_world(
    small_world,
):
    lines = report_lines(small_world)

    header = lines[1].split()
    assert header[:2] == ["policy", "recovered"] and "oracle" in header and "violations" in header
    rows = {line[:34].strip(): line for line in lines[3:]}
    assert {CUSTOM, SMART, oracle_name(4), dunwell_name(4), COLD} <= set(rows)
    assert "100%" in rows[oracle_name(4)]
    summary = summary_lines([small_world])
    assert any(
        line.startswith(dunwell_name(4)) and "calibrated business" in line for line in summary
    )
    assert summary[-1] in ("Targets met.", "Targets missed.")


def test_a_drawn_world_is_reproducible_differs_from_others_and_is_undone_afterwards():
    calibrated = dict(p.PAYDAY_MIX["us"])

    assert world_draw(3) == world_draw(3)
    assert world_draw(3).payday_mix != world_draw(4).payday_mix
    with pytest.raises(RuntimeError), world_applied(world_draw(3)):
        assert world_draw(3).payday_mix == p.PAYDAY_MIX
        assert "America/Phoenix" in p.COUNTRIES["US"][2]
        raise RuntimeError("a failure inside the world")
    assert p.PAYDAY_MIX["us"] == calibrated


def test_command_refuses_a_hold_out_longer_than_the_history_or_negative_worlds():
    with pytest.raises(CommandError, match="--months greater than --holdout-months"):
        call_command("evaluate_policy", months=3, holdout_months=3, verbosity=0)
    with pytest.raises(CommandError, match="--worlds of at least 0"):
        call_command("evaluate_policy", worlds=-1, verbosity=0)
    with pytest.raises(CommandError, match=r"--exploration is a share from 0 to 0\.2"):
        call_command("evaluate_policy", exploration=0.5, verbosity=0)


def test_exploring_auto_retries_still_breaks_no_network_rule_and_stays_in_budget():
    world = policy_evaluate(customers=700, months=9, seed=2, budgets=(4,), exploration_share=0.2)

    dunwell = world.tallies[dunwell_name(4)]
    assert dunwell.violations == 0
    assert dunwell.retries <= 4 * dunwell.invoices + dunwell.invoices  # + one per new card
