"""When each periodic job last ran to the end: what the schedule's health check reads.

Kept in the database, not in Redis, so an outage of Redis (the usual reason the schedule
stops) does not also hide that it stopped."""

from __future__ import annotations

from django.db import models


class PeriodicRun(models.Model):
    job = models.CharField(max_length=80, unique=True)  # the schedule's name for the job
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["job"]

    def __str__(self) -> str:
        return f"{self.job} (last finished {self.last_finished_at})"
