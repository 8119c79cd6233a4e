"""The statistics of an experiment, pure functions over counts (no database).

The design is **fixed-horizon**: at design time the planned sample per variant follows from
the baseline recovery rate, the minimum effect worth detecting, alpha and power (Bonferroni
over the comparisons with the control). The verdict reads only the *first* planned
assignments of every variant, and only once all of their outcomes are known. Before that,
every look shows estimates marked "not conclusive yet" and no test result, so looking
every day does not raise the false-positive rate; after it, later assignments do not move
the verdict. Comparisons: each variant against the control with a pooled two-proportion
z-test, p-values adjusted with Holm's step-down method (family-wise error at most alpha).
Rates carry Wilson score intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()


def wilson(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when there is no data."""
    if n <= 0:
        return 0.0, 1.0
    z = _N.inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    return low, 1.0 if successes == n else min(1.0, centre + half)


def two_proportion_test(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: the two rates are equal, pooled standard error."""
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (s2 / n2 - s1 / n1) / se
    return z, 2 * (1 - _N.cdf(abs(z)))


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values (monotone, capped at 1)."""
    ordered = sorted(p_values.items(), key=lambda item: item[1])
    m, running, adjusted = len(ordered), 0.0, {}
    for rank, (key, p) in enumerate(ordered):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[key] = running
    return adjusted


def sample_size_per_variant(
    *, baseline: float, effect: float, alpha: float, power: float, comparisons: int = 1
) -> int:
    """Outcomes per variant to detect ``baseline`` -> ``baseline + effect`` (two-sided test,
    alpha split over ``comparisons`` by Bonferroni)."""
    if not (0 < baseline < 1 and 0 < baseline + effect < 1 and effect != 0):
        raise ValueError("baseline and baseline + effect must both lie strictly between 0 and 1")
    if not (0 < alpha < 0.5 and 0.5 <= power < 1):
        raise ValueError("alpha lies in (0, 0.5) and power in [0.5, 1)")
    p1, p2 = baseline, baseline + effect
    z_a = _N.inv_cdf(1 - alpha / (2 * max(1, comparisons)))
    z_b = _N.inv_cdf(power)
    mean = (p1 + p2) / 2
    top = z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil((top / effect) ** 2)


@dataclass(frozen=True)
class Arm:
    key: str
    is_control: bool
    # The first ``planned`` assignments of the variant: how many exist, are decided, recovered.
    horizon_assigned: int
    horizon_decided: int
    horizon_recovered: int


@dataclass(frozen=True)
class Comparison:
    key: str
    difference: float  # variant rate minus control rate
    low: float  # confidence interval of the difference (Wald, at the adjusted level)
    high: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True)
class Verdict:
    conclusive: bool
    text: str
    outcomes_in: int = 0
    outcomes_planned: int = 0
    comparisons: tuple[Comparison, ...] = ()
    winner: str = ""  # the variant that beats the control, if any


def verdict(*, arms: list[Arm], planned: int, alpha: float) -> Verdict:
    """The fixed-horizon verdict; "not conclusive yet" until every arm's planned outcomes are in."""
    controls = [arm for arm in arms if arm.is_control]
    if len(controls) != 1 or len(arms) < 2:
        return Verdict(False, "An experiment needs exactly one control and at least one variant.")
    outcomes_in = sum(min(arm.horizon_decided, planned) for arm in arms)
    outcomes_planned = planned * len(arms)
    if any(arm.horizon_decided < planned for arm in arms):
        return Verdict(
            False,
            f"Not conclusive yet: {outcomes_in} of {outcomes_planned} planned outcomes are in. "
            "The rates below are estimates that will move; no winner is declared before the "
            "planned sample is complete, so looking early cannot produce a false win.",
            outcomes_in,
            outcomes_planned,
        )
    control = controls[0]
    tests = {
        arm.key: two_proportion_test(
            control.horizon_recovered, planned, arm.horizon_recovered, planned
        )
        for arm in arms
        if not arm.is_control
    }
    adjusted = holm({key: p for key, (_, p) in tests.items()})
    level = 1 - alpha / max(1, len(tests))
    z = _N.inv_cdf(0.5 + level / 2)
    comparisons = []
    base = control.horizon_recovered / planned
    for arm in arms:
        if arm.is_control:
            continue
        rate = arm.horizon_recovered / planned
        diff = rate - base
        se = math.sqrt(base * (1 - base) / planned + rate * (1 - rate) / planned)
        comparisons.append(
            Comparison(
                arm.key,
                diff,
                diff - z * se,
                diff + z * se,
                tests[arm.key][1],
                adjusted[arm.key],
                adjusted[arm.key] < alpha,
            )
        )
    better = [c for c in comparisons if c.significant and c.difference > 0]
    worse = [c for c in comparisons if c.significant and c.difference < 0]
    winner = max(better, key=lambda c: c.difference) if better else None
    if winner:
        text = (
            f"Conclusive: variant {winner.key} recovers {winner.difference * 100:+.1f} points "
            f"more than the control (Holm-adjusted p = {winner.p_adjusted:.3g} < {alpha:g})."
        )
    else:
        text = (
            f"Conclusive: no variant recovers significantly more than the control at "
            f"alpha {alpha:g} (Holm-adjusted)."
        )
    if worse:
        text += " Significantly worse: " + ", ".join(c.key for c in worse) + "."
    return Verdict(
        True, text, outcomes_in, outcomes_planned, tuple(comparisons), winner.key if winner else ""
    )
