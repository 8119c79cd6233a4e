"""evaluate_policy: Dunwell's policy beside Chargebee's schedules on a replayed hold-out."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sandbox.simulator.policy_evaluation import POLICIES, policy_evaluate, report_lines


@pytest.fixture(scope="module")
def small_world():
    return policy_evaluate(customers=1500, months=12, seed=2)


def test_dunwell_never_breaks_a_network_rule_and_recovers_more_than_the_fixed_schedule(
    small_world,
):
    custom, smart, dunwell = (small_world.tallies[name] for name in POLICIES)

    assert small_world.invoices > 50 and not small_world.cold_start
    assert dunwell.violations == 0
    assert custom.violations > 0  # fixed schedules retry where the networks say never/wait
    assert dunwell.revenue_recovered > custom.revenue_recovered
    assert dunwell.retries <= smart.retries
    assert custom.invoices == smart.invoices == dunwell.invoices == small_world.invoices


def test_report_shows_each_policy_and_says_whether_the_target_was_met(small_world):
    lines = report_lines(small_world)

    header = lines[0].split()
    assert header[:2] == ["policy", "recovered"] and "violations" in header
    assert [line.split("  ")[0] for line in lines[2:5]] == list(POLICIES)
    assert any("recovered revenue" in line and "target +25%" in line for line in lines)
    assert lines[-1] in ("Target met.", "Target missed.")


def test_command_refuses_a_hold_out_longer_than_the_history():
    with pytest.raises(CommandError, match="--months greater than --holdout-months"):
        call_command("evaluate_policy", months=3, holdout_months=3, verbosity=0)
