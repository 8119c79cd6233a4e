"""Experiment statistics: false positives when peeking, and power, by simulation.

A/A experiments (every variant recovers at the same rate) are analysed with the real
``analytics.experiments.stats.verdict`` after every tenth of the planned sample; the share
of runs that ever declare a difference is the family-wise false-positive rate, printed next
to what an unguarded analysis (an unadjusted z-test at every look) would have declared on
the same data. A/B runs with a real effect of the designed size give the power.

    .venv/bin/python bench/experiments_peeking.py [--runs 4000] [--looks 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from analytics.experiments.stats import (  # noqa: E402
    Arm,
    sample_size_per_variant,
    two_proportion_test,
    verdict,
)


def run(rng, *, rates, planned, runs, looks):
    guarded = naive = 0
    for _ in range(runs):
        cumulative = (rng.random((len(rates), planned)) < np.array(rates)[:, None]).cumsum(1)
        declared = peeked = False
        for look in range(1, looks + 1):
            n = planned * look // looks
            rec = [int(row[n - 1]) for row in cumulative]
            arms = [Arm(f"v{i}", i == 0, n, n, r) for i, r in enumerate(rec)]
            result = verdict(arms=arms, planned=planned, alpha=0.05)
            declared |= any(c.significant for c in result.comparisons)
            peeked |= any(two_proportion_test(rec[0], n, r, n)[1] < 0.05 for r in rec[1:])
        guarded += declared
        naive += peeked
    return guarded / runs, naive / runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=4000)
    parser.add_argument("--looks", type=int, default=10)
    o = parser.parse_args()
    rng = np.random.default_rng(1)
    for arms, base in ((2, 0.3), (3, 0.3), (2, 0.6)):
        planned = sample_size_per_variant(
            baseline=base, effect=0.1, alpha=0.05, power=0.8, comparisons=arms - 1
        )
        started = time.perf_counter()
        fp, naive = run(rng, rates=[base] * arms, planned=planned, runs=o.runs, looks=o.looks)
        power, _ = run(
            rng,
            rates=[base, *[base + 0.1] * (arms - 1)],
            planned=planned,
            runs=o.runs // 4,
            looks=o.looks,
        )
        print(
            f"{arms} arms, baseline {base:.0%}, +10 points, {planned}/variant, {o.looks} looks: "
            f"false positives {fp:.3f} (unguarded peeking {naive:.3f}), power {power:.3f} "
            f"[{time.perf_counter() - started:.1f} s]"
        )


if __name__ == "__main__":
    main()
