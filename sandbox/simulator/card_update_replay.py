"""Time from a card update to recovery: Chargebee's batch schedule against Dunwell in real time.

Every first decline of a hold-out (``policy_replay``'s invoices, each with its own luck, the
same under every policy) is played three ways:

- batch: Chargebee's custom schedule (+1, +3, +5 days). A new card waits for the next
  scheduled retry; one that arrives after the last retry is too late.
- real time: Dunwell's policy, deciding again the moment the card changes (a retry on it
  within minutes, or at the best slot the retry model finds from then).
- real time + card updater: as above, and where the policy would ask the customer for a new
  card it first asks the updater, which knows a newer card for ``ON_DEMAND_UPDATER_HIT`` of
  them (the card is then updated at that moment, and nobody asks the customer).
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from threadpoolctl import threadpool_limits

from dunning.decisions.plan import Scorers
from dunning.decisions.rules.network_rules import card_updater_wanted
from dunning.enrichment.card_updater.answers import CardUpdaterFinding, Outcome
from sandbox.simulator import parameters as p
from sandbox.simulator.policy_evaluation import END
from sandbox.simulator.policy_replay import (
    InvoiceRun,
    first_declines,
    guardrails_for_replay,
    play_dunwell,
    train_retry_scorer,
)
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox

WAYS = (
    "batch (Chargebee +1/+3/+5 days)",
    "real time (Dunwell re-decides)",
    "real time + card updater",
)


class TimedRun(InvoiceRun):
    """An invoice's run that also remembers when it was paid and who changed the card."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paid_at: float | None = None
        self.updated_by = ""

    def card_update(self) -> float:
        self.updated_by = self.updated_by or "customer"
        return super().card_update()

    def attempt(self, ts: float) -> bool:
        paid = super().attempt(ts)
        if paid:
            self.paid_at = ts
        return paid


@dataclass
class UpdateTally:
    invoices: int = 0
    card_updates: int = 0
    recovered_after_update: int = 0
    hours: list[float] = field(default_factory=list)
    expired: int = 0
    expired_recovered: int = 0
    expired_without_asking: int = 0
    updater_lookups: int = 0

    def add(self, run: TimedRun) -> None:
        self.invoices += 1
        if run.card_updated_at is not None:
            self.card_updates += 1
            if run.paid_at is not None and run.paid_at >= run.card_updated_at:
                self.recovered_after_update += 1
                self.hours.append((run.paid_at - run.card_updated_at) / p.HOUR)
        if run.case.reason == "expired_card":
            self.expired += 1
            self.expired_recovered += run.paid_at is not None
            self.expired_without_asking += run.paid_at is not None and run.updated_by == "updater"

    def quantile(self, q: float) -> float | None:
        if len(self.hours) < 2:
            return self.hours[0] if self.hours else None
        return statistics.quantiles(self.hours, n=100, method="inclusive")[int(q * 100) - 1]


def play_batch(run: TimedRun, days: tuple[int, ...]) -> None:
    """Chargebee's schedule with no collection on a new card: it waits for the next retry."""
    c = run.case
    run.email(c.failed_at)
    for index, day in enumerate(days):
        at = c.failed_at + day * p.DAY
        if run.update_due is not None and run.update_due < at:
            run.card_update()
        if run.attempt(at):
            return
        if index < len(days) - 1:
            run.email(at)


def updater_for(seed: int, tally: UpdateTally):
    """The updater as enrichment asks it: once per decline that would ask for a new card."""

    def ask(run: TimedRun, now: float, context):
        if context.card_changed_since_failure or getattr(run, "asked_updater", False):
            return context
        if not card_updater_wanted(
            decline=context.decline, failed_at=context.last_failed_at, attempts=()
        ):
            return context
        run.asked_updater = True
        tally.updater_lookups += 1
        draw = random.Random(f"{seed}:{run.case.invoice_id}:updater").random()
        found = draw < p.ON_DEMAND_UPDATER_HIT.get(run.case.reason, 0.0)
        outcome = Outcome.UPDATED if found else Outcome.NO_UPDATE
        if found:
            run.card_updated_at, run.update_due, run.updated_by = now, None, "updater"
        finding = CardUpdaterFinding(outcome=outcome, adapter="simulated", payment_source_id="")
        return replace(context, card_updater=finding)

    return ask


@dataclass
class CardUpdateEvaluation:
    tallies: dict[str, UpdateTally]
    cold_start: bool
    seconds: dict


def card_update_evaluate(
    *, customers: int, months: int, seed: int, holdout_months: int = 3, cold_start: bool = False
) -> CardUpdateEvaluation:
    with threadpool_limits(limits=1):
        clock = time.perf_counter()
        sandbox = Sandbox(id_token=f"{seed % 65536:04x}")
        simulator = simulate_history(
            sandbox, customers=customers, months=months, seed=seed, end=END
        )
        holdout_start = END - holdout_months * 30 * p.DAY
        seconds = {"simulate": time.perf_counter() - clock}
        clock = time.perf_counter()
        scorer = None if cold_start else train_retry_scorer(simulator, before=holdout_start)[0]
        seconds["train"] = time.perf_counter() - clock
        clock = time.perf_counter()
        cases = first_declines(simulator, since=holdout_start, until=END - 28 * p.DAY)
        tallies = {name: UpdateTally() for name in WAYS}
        guardrails, scorers = guardrails_for_replay(), Scorers(retry=scorer)
        outages = simulator.outcomes.outages
        updater = updater_for(seed, tallies[WAYS[2]])
        for case in cases:
            batch, live, with_updater = (
                TimedRun(case, seed=seed, outages=outages, tally=_Quiet()) for _ in WAYS
            )
            play_batch(batch, p.CUSTOM_RETRY_DAYS)
            play_dunwell(live, guardrails=guardrails, scorers=scorers)
            play_dunwell(with_updater, guardrails=guardrails, scorers=scorers, card_updater=updater)
            for name, run in zip(WAYS, (batch, live, with_updater), strict=True):
                tallies[name].add(run)
        seconds["replay"] = time.perf_counter() - clock
    return CardUpdateEvaluation(tallies, scorer is None, seconds)


class _Quiet:
    """``InvoiceRun`` keeps its counts in a policy_replay Tally; these are not reported here."""

    def __init__(self):
        self.invoices = self.recovered = self.retries = self.violations = self.emails = 0
        self.revenue_due = self.revenue_recovered = 0.0
        self.days_to_recovery: list[float] = []
        self.violation_examples: list[str] = []
        self.violations_by_brand: Counter = Counter()


def report_lines(evaluation: CardUpdateEvaluation) -> list[str]:
    def hours(value):
        return f"{value:.1f}" if value is not None else "-"

    header = (
        f"{'how':<34} {'card updates':>12} {'recovered':>10} {'median h':>9} {'p90 h':>7} "
        f"{'expired: recovered':>19} {'without asking':>15}"
    )
    lines = [header, "-" * len(header)]
    for name, t in evaluation.tallies.items():
        share = t.expired_without_asking / t.expired if t.expired else 0.0
        recovered = t.expired_recovered / t.expired if t.expired else 0.0
        lines.append(
            f"{name:<34} {t.card_updates:>12} {t.recovered_after_update:>10} "
            f"{hours(t.quantile(0.5)):>9} {hours(t.quantile(0.9)):>7} "
            f"{recovered:>19.1%} {share:>15.1%}"
        )
    first = next(iter(evaluation.tallies.values()))
    lines += [
        "",
        f"{first.invoices} first declines in the hold-out, {first.expired} of them expired cards; "
        "hours from the card update to the recovering charge (card updates followed by one).",
        "'without asking': expired-card failures recovered on a card the updater found.",
        "Retry model: "
        + ("none (cold start)" if evaluation.cold_start else "trained before the hold-out"),
    ]
    return lines
