"""Periodic job: keep today's forecast and judge past ones whose horizon has passed."""

from __future__ import annotations

from analytics.forecast_history import forecast_snapshot_take, forecast_snapshots_settle


def forecast_snapshot_job() -> dict[str, int]:
    return {"taken": forecast_snapshot_take(), "settled": forecast_snapshots_settle()}
