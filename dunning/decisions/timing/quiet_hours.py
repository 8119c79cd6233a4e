"""Quiet hours: no message reaches a customer at night in their own time zone.

Quiet hours are ``"HH:MM-HH:MM"`` in the customer's local time and may wrap midnight
(``21:00-08:00``); an empty value switches quiet hours off. They come from the channel
settings an admin saves (``dunning.decisions.policy_settings.channel_settings``), by
default from the ``QUIET_HOURS`` setting. Local times are computed with zoneinfo, so a
daylight-saving change moves the window with the customer's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def covers(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def quiet_hours_parse(text: str) -> QuietHours | None:
    if not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ImproperlyConfigured(
            f"QUIET_HOURS must look like 21:00-08:00, not {text!r}"
        ) from None
    return None if start == end else QuietHours(start, end)


def quiet_hours_next_allowed(
    *, at: datetime, time_zone: str, quiet: QuietHours | None
) -> datetime | None:
    """The moment ``quiet`` hours end if ``at`` falls in them (in the customer's zone), else
    None (also when there are no quiet hours)."""
    if quiet is None:
        return None
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    if not quiet.covers(local.time()):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    # Through zoneinfo again: an end time that falls in a DST gap resolves to a real instant.
    return end.astimezone(ZoneInfo("UTC"))
