"""Analytics has no tables of its own: it reads the mirror, decisions and actions.

``Dashboard`` exists only to carry the permission that opens the dashboards (no table).
"""

from __future__ import annotations

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboards", "Can read the recovery dashboards and cohorts")]

    def __str__(self) -> str:
        return "analytics dashboards"


def _new_salt() -> str:
    import secrets

    return secrets.token_hex(8)


class Experiment(models.Model):
    """A dunning-sequence experiment: variants tried on new failures, one planned horizon."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        PROMOTED = "promoted", "Promoted"

    name = models.CharField(max_length=120, unique=True)
    hypothesis = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    segment = models.CharField(max_length=20, blank=True)  # "" : every segment
    # The design: the planned sample per variant follows from these four.
    baseline_rate = models.FloatField()
    minimum_effect = models.FloatField()  # absolute, 0.05 = five percentage points
    alpha = models.FloatField(default=0.05)
    power = models.FloatField(default=0.8)
    planned_per_variant = models.PositiveIntegerField()
    window_days = models.PositiveIntegerField(default=28)
    salt = models.CharField(max_length=32, default=_new_salt)
    created_by = models.ForeignKey(
        "auth.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    proposed_variant = models.ForeignKey(
        "analytics.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("run_experiment", "Can design, start and stop dunning experiments"),
            ("change_dunning_sequence", "Can change the default dunning sequence (promote)"),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=30)
    label = models.CharField(max_length=120)
    # Overrides of the dunning sequence: channel, tone, timing, delay_hours, offer.
    params = models.JSONField(default=dict, blank=True)
    weight = models.PositiveIntegerField(default=1)
    is_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_control", "id"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.experiment.name} / {self.key}"


class Assignment(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="assignments")
    invoice_id = models.CharField(max_length=100)
    first_failed_at = models.DateTimeField()
    window_end = models.DateTimeField()  # recovered by then counts; until then "pending"
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "invoice_id"], name="assignment_invoice_once"
            )
        ]
        indexes = [models.Index(fields=["invoice_id"], name="assignment_invoice")]

    def __str__(self) -> str:
        return f"{self.invoice_id} -> {self.variant_id}"
