"""Periodic jobs of the desk. Each is safe to run twice (conditional updates, upserts)."""

from __future__ import annotations

from dataclasses import asdict

from collections_desk.cases import cases_refresh
from collections_desk.payment_plans import payment_plans_track
from collections_desk.promises import promises_check


def cases_refresh_job() -> dict[str, int]:
    """Resolve paid-up cases and refresh priorities (age and SLA move with time)."""
    return cases_refresh()


def promises_check_job() -> dict[str, int]:
    """Settle promises to pay whose day is over: kept, or broken (the case reopens)."""
    return asdict(promises_check())


def payment_plans_track_job() -> dict[str, int]:
    """Follow approved payment plans into Chargebee and each instalment's status."""
    return payment_plans_track()
