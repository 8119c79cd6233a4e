"""``evaluate_policy``'s engine: a seeded world, a hold-out, three policies, one report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from dunning.decisions.policy import Scorers
from sandbox.simulator import parameters as p
from sandbox.simulator.policy_replay import (
    InvoiceRun,
    Tally,
    first_declines,
    guardrails_for_replay,
    play_dunwell,
    play_fixed,
    train_retry_scorer,
)
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox

END = 1_790_000_000  # a fixed moment, so a seed always gives the same world
TARGET_REVENUE_LIFT = 0.25
POLICIES = ("Chargebee custom (3 retries)", "Chargebee smart (12 retries)", "Dunwell")


@dataclass
class Evaluation:
    tallies: dict[str, Tally]
    invoices: int
    training: dict
    cold_start: bool
    seconds: dict = field(default_factory=dict)
    decisions: int = 0

    @property
    def lift(self) -> float:
        custom = self.tallies[POLICIES[0]].revenue_recovered
        return self.tallies[POLICIES[2]].revenue_recovered / custom - 1 if custom else 0.0

    @property
    def target_met(self) -> bool:
        dunwell, smart = self.tallies[POLICIES[2]], self.tallies[POLICIES[1]]
        return (
            self.lift >= TARGET_REVENUE_LIFT
            and dunwell.retries <= smart.retries
            and dunwell.violations == 0
        )


def policy_evaluate(
    *,
    customers: int,
    months: int,
    seed: int,
    holdout_months: int = 3,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Evaluation:
    # One thread, as one worker decides: the booster's threads only fight over a few hundred
    # rows per decision.
    with threadpool_limits(limits=1):
        return _evaluate(customers, months, seed, holdout_months, on_progress)


def _evaluate(customers, months, seed, holdout_months, on_progress) -> Evaluation:
    progress = on_progress or (lambda stage, done, total: None)
    clock = time.perf_counter()
    sandbox = Sandbox(id_token=f"{seed % 65536:04x}")
    simulator = simulate_history(sandbox, customers=customers, months=months, seed=seed, end=END)
    holdout_start = END - holdout_months * 30 * p.DAY
    seconds = {"simulate": time.perf_counter() - clock}

    clock = time.perf_counter()
    scorer, training = train_retry_scorer(simulator, before=holdout_start)
    seconds["train"] = time.perf_counter() - clock
    # Invoices whose 28-day window would run past the end of the world are left out.
    cases = first_declines(simulator, since=holdout_start, until=END - 28 * p.DAY)
    tallies = {name: Tally() for name in POLICIES}
    guardrails, scorers = guardrails_for_replay(), Scorers(retry=scorer)
    outages = simulator.outcomes.outages
    clock = time.perf_counter()
    decisions = 0
    for done, case in enumerate(cases, 1):
        custom, smart, dunwell = (
            InvoiceRun(case, seed=seed, outages=outages, tally=tallies[n]) for n in POLICIES
        )
        play_fixed(custom, p.CUSTOM_RETRY_DAYS, skip_hard=False)
        play_fixed(smart, p.SMART_RETRY_DAYS, skip_hard=True)
        decisions += play_dunwell(dunwell, guardrails=guardrails, scorers=scorers)
        progress("replaying", done, len(cases))
    seconds["replay"] = time.perf_counter() - clock
    return Evaluation(tallies, len(cases), training, scorer is None, seconds, decisions)


def report_lines(evaluation: Evaluation) -> list[str]:
    e = evaluation
    header = (
        f"{'policy':<30} {'recovered':>10} {'rate':>6} {'revenue':>12} {'retries':>8} "
        f"{'violations':>10} {'median days':>11}"
    )
    lines = [header, "-" * len(header)]
    for name, t in e.tallies.items():
        median = f"{t.median_days:.1f}" if t.median_days is not None else "-"
        lines.append(
            f"{name:<30} {t.recovered:>10} {t.recovery_rate:>6.1%} "
            f"{t.revenue_recovered / 100:>12,.0f} {t.retries:>8} {t.violations:>10} {median:>11}"
        )
    dunwell, smart = e.tallies[POLICIES[2]], e.tallies[POLICIES[1]]
    lines += [
        "",
        f"{e.invoices} first declines in the hold-out; revenue in USD at fixed illustrative rates.",
        f"Dunwell vs the fixed schedule: {e.lift:+.1%} recovered revenue "
        f"(target +{TARGET_REVENUE_LIFT:.0%}); retries {dunwell.retries} vs smart's "
        f"{smart.retries} (target: no more).",
    ]
    if e.cold_start:
        lines.append(
            f"Cold start: {e.training['examples']} retries in the training history are too few; "
            "Dunwell ran on the rules and Chargebee's default schedule."
        )
    else:
        holdout = e.training.get("holdout", {})
        lines.append(
            f"Retry model trained on {e.training['examples']} retries before the hold-out "
            f"(its own last fifth: ROC AUC {holdout.get('roc_auc')}, Brier {holdout.get('brier')})."
        )
    for name, t in e.tallies.items():
        for example in t.violation_examples[:2]:
            lines.append(f"  violation ({name}): {example}")
    lines.append("Target met." if e.target_met else "Target missed.")
    return lines
