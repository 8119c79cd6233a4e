"""Trained models, each version with what it was trained on and how well it did."""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        RECOVERY = "recovery", "Will the invoice be recovered?"
        RETRY = "retry", "Will a retry at this time succeed?"
        RENEWAL_RISK = "renewal_risk", "Will the next renewal's first charge fail?"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    examples = models.PositiveIntegerField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    features = models.JSONField(default=list)
    # Measured on the time-based hold-out: the model, the baseline, and the model it replaced.
    metrics = models.JSONField(default=dict)
    active = models.BooleanField(default=False)
    decision_note = models.TextField(blank=True)
    artifact = models.BinaryField()  # a pickled scikit-learn pipeline, written only by training

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(active=True), name="one_active_model_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}{' (active)' if self.active else ''}"
