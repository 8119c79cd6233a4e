"""Periodic job: resolve paid-up cases and refresh priorities (age and SLA move with time)."""

from __future__ import annotations

from collections_desk.cases import cases_refresh


def cases_refresh_job() -> dict[str, int]:
    return cases_refresh()
