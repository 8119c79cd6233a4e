"""The experiment statistics on known numbers, and the peeking simulation."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.experiments.stats import (
    Arm,
    holm,
    sample_size_per_variant,
    two_proportion_test,
    verdict,
    wilson,
)


def test_wilson_interval_matches_the_textbook_figures():
    low, high = wilson(40, 100)
    assert (round(low, 4), round(high, 4)) == (0.3094, 0.498)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_test_on_known_counts():
    z, p = two_proportion_test(40, 100, 55, 100)
    assert round(z, 3) == 2.124 and round(p, 4) == 0.0337


def test_holm_adjusts_the_smallest_p_by_the_number_of_tests_and_stays_monotone():
    adjusted = holm({"b": 0.01, "c": 0.04, "d": 0.03})
    assert adjusted == pytest.approx({"b": 0.03, "d": 0.06, "c": 0.06})


def test_planned_sample_for_30_to_40_percent_is_the_classic_356_and_grows_with_variants():
    assert sample_size_per_variant(baseline=0.3, effect=0.1, alpha=0.05, power=0.8) == 356
    three = sample_size_per_variant(baseline=0.3, effect=0.1, alpha=0.05, power=0.8, comparisons=2)
    assert three > 356
    with pytest.raises(ValueError):
        sample_size_per_variant(baseline=0.95, effect=0.1, alpha=0.05, power=0.8)


def arms(counts: list[tuple[int, int]], planned: int) -> list[Arm]:
    """(decided, recovered) per arm, the first is the control."""
    return [
        Arm(f"v{i}", i == 0, min(decided, planned), min(decided, planned), recovered)
        for i, (decided, recovered) in enumerate(counts)
    ]


def test_no_verdict_before_the_planned_sample_however_large_the_gap():
    early = verdict(arms=arms([(50, 10), (50, 40)], planned=100), planned=100, alpha=0.05)
    assert not early.conclusive and early.winner == ""
    assert early.text.startswith("Not conclusive yet: 100 of 200 planned outcomes are in.")


def test_conclusive_verdict_names_the_winner_with_its_adjusted_p():
    final = verdict(
        arms=arms([(356, 107), (356, 142), (356, 110)], planned=356), planned=356, alpha=0.05
    )
    assert final.conclusive and final.winner == "v1"
    by_key = {c.key: c for c in final.comparisons}
    assert by_key["v1"].significant and not by_key["v2"].significant
    assert by_key["v1"].p_adjusted == pytest.approx(2 * by_key["v1"].p_value)
    assert "variant v1 recovers +9.8 points" in final.text


# --- peeking ---------------------------------------------------------------------------
LOOKS = 10


def simulate(rng, *, rates: list[float], planned: int, runs: int):
    """Each run looks at the data after every tenth of the planned sample."""
    guarded = naive = 0
    for _ in range(runs):
        outcomes = rng.random((len(rates), planned)) < np.array(rates)[:, None]
        cumulative = outcomes.cumsum(axis=1)
        declared = peeked = False
        for look in range(1, LOOKS + 1):
            n = planned * look // LOOKS
            recovered = [int(row[n - 1]) for row in cumulative]
            result = verdict(
                arms=arms([(n, r) for r in recovered], planned), planned=planned, alpha=0.05
            )
            declared = (
                declared or bool(result.winner) or any(c.significant for c in result.comparisons)
            )
            # What peeking without the guard would do: an unadjusted test at every look.
            peeked = peeked or any(
                two_proportion_test(recovered[0], n, r, n)[1] < 0.05 for r in recovered[1:]
            )
        guarded += declared
        naive += peeked
    return guarded / runs, naive / runs


def test_aa_experiments_looked_at_ten_times_keep_false_positives_near_alpha():
    rng = np.random.default_rng(20261124)
    planned = sample_size_per_variant(
        baseline=0.3, effect=0.1, alpha=0.05, power=0.8, comparisons=2
    )
    runs = 1500
    guarded, naive = simulate(rng, rates=[0.3, 0.3, 0.3], planned=planned, runs=runs)
    tolerance = 3 * (0.05 * 0.95 / runs) ** 0.5  # three standard errors of the rate
    assert guarded <= 0.05 + tolerance
    assert guarded >= 0.02  # the guard is a test at alpha, not a refusal to ever conclude
    assert naive > 0.12  # the same data, peeked at without the guard: far above alpha


def test_a_real_effect_is_detected_at_about_the_planned_power():
    rng = np.random.default_rng(7)
    planned = sample_size_per_variant(baseline=0.3, effect=0.1, alpha=0.05, power=0.8)
    detected, _ = simulate(rng, rates=[0.3, 0.4], planned=planned, runs=400)
    assert detected >= 0.72
