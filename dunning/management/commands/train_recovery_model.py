from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from dunning.decisions.recovery_model import ColdStart, recovery_model_train

STEPS = ["reading history", "training", "measuring on the hold-out", "recording the version"]


class Command(BaseCommand):
    help = "Train the recovery model on the mirrored history; activate it only if it is better."

    def handle(self, *args, **options):
        with tqdm(total=len(STEPS), desc="Training", disable=options["verbosity"] == 0) as bar:

            def on_step(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            try:
                result = recovery_model_train(on_step=on_step)
            except ColdStart as cold:
                self.stdout.write(self.style.WARNING(f"Cold start: {cold}."))
                return
        version, metrics = result.version, result.version.metrics
        self.stdout.write(
            f"Recovery model v{version.version}: {version.examples} training examples, hold-out "
            f"{metrics['holdout']['examples']}; ROC AUC {metrics['model']['roc_auc']} "
            f"(baseline {metrics['baseline']['roc_auc']}), Brier {metrics['model']['brier']} "
            f"(baseline {metrics['baseline']['brier']})."
        )
        self.stdout.write(version.decision_note)
