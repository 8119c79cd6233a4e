"""Card update to recovery, before and after real-time re-decision and the card updater.

Simulates a seeded business (no database), trains the retry model on all but the last
months, then replays every first decline of those months three ways (see
``sandbox/simulator/card_update_replay.py``): Chargebee's batch schedule, where a new card
waits for the next scheduled retry; Dunwell deciding again the moment the card changes; and
Dunwell asking the card updater before asking the customer. Prints the median and 90th
percentile hours from the card update to the recovering charge, and the share of expired-card
failures recovered without asking the customer.

    .venv/bin/python bench/card_update_recovery.py [--customers 4000] [--months 15] [--seed 1]
        [--cold-start]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from sandbox.simulator.card_update_replay import card_update_evaluate, report_lines  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--months", type=int, default=15)
    parser.add_argument("--holdout-months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cold-start", action="store_true", help="no retry model (rules only)")
    args = parser.parse_args()
    evaluation = card_update_evaluate(
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        holdout_months=args.holdout_months,
        cold_start=args.cold_start,
    )
    print(
        f"{args.customers} customers, {args.months} months, seed {args.seed}, "
        f"hold-out {args.holdout_months} months"
    )
    for line in report_lines(evaluation):
        print(line)
    s = evaluation.seconds
    print(
        f"({s['simulate']:.0f} s simulating, {s['train']:.0f} s training, "
        f"{s['replay']:.0f} s replaying)"
    )


if __name__ == "__main__":
    main()
