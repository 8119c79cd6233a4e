"""A day given on a command line, as the start of that day in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError


def utc_day_option(value: str, *, option: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"{option} must be a date like 2026-01-31, not {value!r}") from None
