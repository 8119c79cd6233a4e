"""``manage.py train_renewal_risk``: the at-risk page's model, from past renewals."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from analytics.at_risk.risk_model import renewal_risk_train
from dunning.decisions.learning.model_training import ColdStart


class Command(BaseCommand):
    help = (
        "Train the renewal-risk model (will the next renewal's first charge fail?) on past "
        "renewal invoices; it is activated only if it beats the baseline and the active one. "
        "Without an active version the at-risk page scores by rules."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            result = renewal_risk_train()
        except ColdStart as cold:
            self.stdout.write(self.style.WARNING(f"Renewal-risk model: cold start: {cold}."))
            return
        version, metrics = result.version, result.version.metrics
        model, baseline = metrics["model"], metrics["baseline"]
        self.stdout.write(
            f"Renewal-risk model v{version.version}: {version.examples} training renewals, "
            f"hold-out {metrics['holdout']['examples']} ({metrics['holdout']['positive']} "
            f"failed); ROC AUC {model['roc_auc']} (baseline {baseline['roc_auc']}), Brier "
            f"{model['brier']} (baseline {baseline['brier']}); {time.monotonic() - started:.1f} s"
            f"\n  {version.decision_note}"
        )
