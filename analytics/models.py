"""Analytics reads the mirror, decisions and actions; its one table keeps past forecasts.

``Dashboard`` exists only to carry the permission that opens the dashboards (no table);
``ForecastSnapshot`` keeps what the forecast said, to compare it with what happened.
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
