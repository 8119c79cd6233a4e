from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from dunning.decisions.learning.model_training import ColdStart, TrainingResult
from dunning.decisions.learning.recovery_model import recovery_model_train
from dunning.decisions.learning.retry_model import retry_model_train
from dunning.decisions.learning.scoring import scorers_forget

STEPS = ["reading history", "training", "measuring on the hold-out", "recording the version"]
MODELS = [("Recovery model", recovery_model_train), ("Retry model", retry_model_train)]


class Command(BaseCommand):
    help = (
        "Train the recovery and retry models on the mirrored history; each new version is "
        "activated only if it beats the baseline and the active version."
    )

    def handle(self, *args, **options):
        results: list[tuple[str, TrainingResult | ColdStart]] = []
        with tqdm(
            total=len(STEPS) * len(MODELS), desc="Training", disable=options["verbosity"] == 0
        ) as bar:
            for number, (name, train) in enumerate(MODELS, 1):

                def on_step(step: str, name=name) -> None:
                    bar.set_postfix_str(f"{name.lower()}: {step}")
                    bar.update(1)

                try:
                    results.append((name, train(on_step=on_step)))
                except ColdStart as cold:
                    results.append((name, cold))
                bar.update(number * len(STEPS) - bar.n)  # a cold start skips steps
        for name, result in results:
            if isinstance(result, ColdStart):
                self.stdout.write(self.style.WARNING(f"{name}: cold start: {result}."))
            else:
                self.stdout.write(self._summary(name, result))
        if all(isinstance(r, ColdStart) for _, r in results):
            self.stdout.write(
                "No trained model: the network rules and the prior (what is known about "
                "when cards recover: paydays, local mornings, spacing) stay in charge."
            )
        scorers_forget()

    def _summary(self, name: str, result: TrainingResult) -> str:
        version, metrics = result.version, result.version.metrics
        model, baseline = metrics["model"], metrics["baseline"]
        active = metrics.get("active")
        versus = (
            f"; active v{active['version']}: ROC AUC {active.get('roc_auc', '-')}, "
            f"Brier {active.get('brier', '-')}"
            if active
            else ""
        )
        return (
            f"{name} v{version.version}: {version.examples} training examples, hold-out "
            f"{metrics['holdout']['examples']} from {metrics['holdout']['from'][:10]}; "
            f"ROC AUC {model['roc_auc']} (baseline {baseline['roc_auc']}), "
            f"Brier {model['brier']} (baseline {baseline['brier']}){versus}.\n"
            f"  {version.decision_note}"
        )
