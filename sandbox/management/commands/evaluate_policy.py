"""``manage.py evaluate_policy``: Dunwell beside Chargebee's schedules and an oracle."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dunning.decisions.timing.exploration import MAX_EXPLORATION_SHARE
from sandbox.simulator.policy_evaluation import (
    policy_evaluate,
    report_lines,
    summary_lines,
    worlds_evaluate,
)
from sandbox.simulator.worlds import world_draw


class Command(BaseCommand):
    help = (
        "Simulate a business (or --worlds N random ones), train the retry model on all but "
        "its last months, then replay every decline of those months under Chargebee's custom "
        "and smart schedules, an oracle that knows each attempt's true chance, and Dunwell "
        "(with and without a model) at retry budgets 3, 4 and 8. Reports recovered revenue, "
        "Dunwell's share of the oracle, retries, network-rule violations and time to "
        "recovery, then the mean and worst over worlds and seeds. Exits with status 1 when a "
        "target is missed. Touches no database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=4000)
        parser.add_argument("--months", type=int, default=15)
        parser.add_argument("--holdout-months", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--seeds", type=int, default=1, help="seeds per world: --seed, --seed+1, ..."
        )
        parser.add_argument("--jobs", type=int, default=1, help="worlds run in parallel")
        parser.add_argument(
            "--exploration",
            type=float,
            default=0.0,
            help="share of Dunwell's retries explored at a random allowed slot, as auto mode "
            "does (0 to 0.2; default 0: the policy's own choices)",
        )
        parser.add_argument(
            "--worlds",
            type=int,
            default=0,
            help="random worlds to draw (0: the calibrated business only)",
        )

    def handle(self, *args, **o):
        if o["customers"] < 10 or o["holdout_months"] < 1 or o["months"] <= o["holdout_months"]:
            raise CommandError(
                "need --customers of at least 10 and --months greater than --holdout-months >= 1"
            )
        if o["worlds"] < 0 or o["seeds"] < 1:
            raise CommandError("need --worlds of at least 0 and --seeds of at least 1")
        if not 0 <= o["exploration"] <= MAX_EXPLORATION_SHARE:
            raise CommandError(f"--exploration is a share from 0 to {MAX_EXPLORATION_SHARE}")
        seeds = tuple(range(o["seed"], o["seed"] + o["seeds"]))
        self.stdout.write(
            f"Simulating {o['customers']} customers over {o['months']} months in "
            f"{max(o['worlds'], 1)} world(s) x {len(seeds)} seed(s), training on all but the "
            f"last {o['holdout_months']}..."
        )
        for index in range(1, o["worlds"] + 1):
            self.stdout.write("  " + world_draw(index).describe())
        if o["worlds"] == 0 and len(seeds) == 1:
            with tqdm(desc="Replaying", unit="invoice", disable=o["verbosity"] == 0) as bar:

                def on_progress(stage: str, done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                results = [
                    policy_evaluate(
                        customers=o["customers"],
                        months=o["months"],
                        seed=seeds[0],
                        holdout_months=o["holdout_months"],
                        on_progress=on_progress,
                        exploration_share=o["exploration"],
                    )
                ]
        else:
            total = max(o["worlds"], 1) * len(seeds)
            with tqdm(total=total, desc="Worlds", disable=o["verbosity"] == 0) as bar:
                results = worlds_evaluate(
                    worlds=o["worlds"],
                    seeds=seeds,
                    customers=o["customers"],
                    months=o["months"],
                    holdout_months=o["holdout_months"],
                    jobs=o["jobs"],
                    on_world=lambda _result: bar.update(1),
                    exploration_share=o["exploration"],
                )
        for result in results:
            for line in report_lines(result):
                self.stdout.write(line)
            s = result.seconds
            self.stdout.write(
                f"({s['simulate']:.0f} s simulating, {s['train']:.0f} s training, "
                f"{s['replay']:.0f} s replaying {result.decisions} Dunwell decisions)\n"
            )
        lines = summary_lines(results)
        for line in lines:
            self.stdout.write(line)
        if lines[-1] != "Targets met.":
            raise SystemExit(1)
