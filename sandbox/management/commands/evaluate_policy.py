"""``manage.py evaluate_policy``: Dunwell's policy beside Chargebee's schedules on a hold-out."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sandbox.simulator.policy_evaluation import policy_evaluate, report_lines


class Command(BaseCommand):
    help = (
        "Simulate a seeded business, train the retry model on all but its last months, then "
        "replay every decline of those months under Chargebee's custom schedule, Chargebee's "
        "smart schedule and Dunwell's policy; report recovered revenue, retries, network-rule "
        "violations and time to recovery. Exits with status 1 when Dunwell misses its target. "
        "Touches no database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=4000)
        parser.add_argument("--months", type=int, default=15)
        parser.add_argument("--holdout-months", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **o):
        if o["customers"] < 10 or o["holdout_months"] < 1 or o["months"] <= o["holdout_months"]:
            raise CommandError(
                "need --customers of at least 10 and --months greater than --holdout-months >= 1"
            )
        self.stdout.write(
            f"Simulating {o['customers']} customers over {o['months']} months (seed {o['seed']}) "
            f"and training on all but the last {o['holdout_months']}..."
        )
        with tqdm(desc="Replaying", unit="invoice", disable=o["verbosity"] == 0) as bar:

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            evaluation = policy_evaluate(
                customers=o["customers"],
                months=o["months"],
                seed=o["seed"],
                holdout_months=o["holdout_months"],
                on_progress=on_progress,
            )
        for line in report_lines(evaluation):
            self.stdout.write(line)
        s = evaluation.seconds
        self.stdout.write(
            f"({s['simulate']:.0f} s simulating, {s['train']:.0f} s training, "
            f"{s['replay']:.0f} s replaying {evaluation.decisions} Dunwell decisions)"
        )
        if not evaluation.target_met:
            raise SystemExit(1)
