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
