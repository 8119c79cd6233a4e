"""Analytics reads the mirror, decisions and actions; its own tables are few.

``Dashboard`` exists only to carry the permission that opens the dashboards (no table).
``PreDunningCampaign`` and ``CampaignMember``: who a pre-emptive card-update campaign chose,
who was held out, and the action that asked each treated customer (analytics/at_risk/).
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
