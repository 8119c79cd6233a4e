"""Analytics reads the mirror, decisions and actions; its own tables are few.

``Dashboard`` exists only to carry the permission that opens the dashboards (no table).
``Experiment``, ``Variant``, ``Assignment``: dunning-sequence experiments (analytics/experiments/).
``PreDunningCampaign`` and ``CampaignMember``: who a pre-emptive card-update campaign chose,
who was held out, and the action that asked each treated customer (analytics/at_risk/).
``ForecastSnapshot`` keeps what the forecast said, to compare it with what happened.
"""

from __future__ import annotations

from django.conf import settings
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


class PreDunningCampaign(models.Model):
    """A manager's card-update campaign for customers whose next renewal is at risk."""

    name = models.CharField(max_length=120)
    salt = models.CharField(max_length=32)  # with the customer id, decides who is held out
    holdout_share = models.FloatField(default=0.2)
    channel = models.CharField(max_length=10, default="email")
    renewing_within_days = models.PositiveSmallIntegerField()
    min_score = models.FloatField(null=True, blank=True)  # "all at or above"; None: a pick
    score_source = models.CharField(max_length=60)  # "renewal_risk v3" or "rules"
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("launch_campaign", "Can launch a pre-dunning card-update campaign")]

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


class CampaignMember(models.Model):
    class Group(models.TextChoices):
        TREATED = "treated", "Asked to update the card"
        HOLDOUT = "holdout", "Hold-out: receives nothing"

    campaign = models.ForeignKey(
        PreDunningCampaign, on_delete=models.PROTECT, related_name="members"
    )
    customer_cb_id = models.CharField(max_length=100)
    subscription_cb_id = models.CharField(max_length=100)
    renewal_at = models.DateTimeField()  # the subscription's next billing date at launch
    score = models.FloatField()
    reasons = models.JSONField(default=list)  # plain words, as shown when chosen
    customer_reason = models.CharField(max_length=200, blank=True)  # what the message says
    group = models.CharField(max_length=10, choices=Group.choices)
    action = models.OneToOneField(
        "dunning.Action", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    skipped = models.CharField(max_length=200, blank=True)  # why no action could be made

    class Meta:
        ordering = ["renewal_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer_cb_id"], name="campaign_member_once"
            )
        ]
        indexes = [models.Index(fields=["subscription_cb_id", "renewal_at"], name="member_renewal")]

    def __str__(self) -> str:
        return f"{self.customer_cb_id} in {self.campaign_id} ({self.group})"


class ForecastSnapshot(models.Model):
    """What the forecast said on one day for one currency, kept to compare with what happened.

    Taken once a day by ``analytics.jobs.forecast_snapshot_job`` (``source`` "live": the
    invoices in dunning then, scored by their latest decision) or computed afterwards from
    history by ``manage.py forecast_backfill`` ("backfill": the invoices open then, scored
    with what was known then). Once ``as_of`` + ``horizon_days`` has passed, ``actual`` is
    what those very invoices recovered by then.
    """

    class Source(models.TextChoices):
        LIVE = "live", "Taken that day"
        BACKFILL = "backfill", "Computed afterwards from history"

    day = models.DateField()
    as_of = models.DateTimeField()
    horizon_days = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=10, choices=Source.choices)
    # Amounts in the currency's minor units (floats: expectations are not whole cents).
    invoices = models.PositiveIntegerField()
    at_stake = models.BigIntegerField()
    expected = models.FloatField()
    low = models.FloatField()  # the 80% interval
    high = models.FloatField()
    low95 = models.FloatField()
    high95 = models.FloatField()
    # How many invoices had no decision's recovery score and took their category's rate.
    fallback_invoices = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=200)
    # What judging it later needs: which invoices were open, and the rates used.
    invoice_ids = models.JSONField(default=list)
    category_rates = models.JSONField(default=dict)
    actual = models.BigIntegerField(null=True, blank=True)
    actual_invoices = models.PositiveIntegerField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["day", "currency"], name="one_forecast_per_day")
        ]
        indexes = [models.Index(fields=["currency", "day"], name="forecast_currency_day")]

    def __str__(self) -> str:
        return f"forecast of {self.currency} on {self.day}"
