"""The time features of a moment after a decline, in the customer's local time.

Vectorised over numpy columns: the same function describes a million attempts for
training and a few hundred candidate slots for one decision. Framework-free.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

DAY, HOUR = 86_400, 3_600


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_seconds(at: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Unix seconds shifted to each row's local wall clock (offsets looked up once per hour)."""
    hours = at.astype(np.int64) // HOUR
    if len(at) and at.max() - at.min() < 60 * DAY and len(set(zones.tolist())) == 1:
        # One zone (a decision's slots): one offset unless a DST change falls in between.
        zone = _zone(str(zones[0]))
        first, last = (
            int(datetime.fromtimestamp(int(t), tz=UTC).astimezone(zone).utcoffset().total_seconds())
            for t in (at.min(), at.max())
        )
        if first == last:
            return at.astype(np.int64) + first
    names, zone_index = np.unique(zones.astype(str), return_inverse=True)
    keys = zone_index.astype(np.int64) * 10_000_000 + hours
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    offsets = np.empty(len(unique_keys), dtype=np.int64)
    for i, key in enumerate(unique_keys.tolist()):
        moment = datetime.fromtimestamp((key % 10_000_000) * HOUR, tz=UTC)
        zone = _zone(names[key // 10_000_000])
        offsets[i] = int(moment.astimezone(zone).utcoffset().total_seconds())
    return at.astype(np.int64) + offsets[inverse]


def _calendar(days: np.ndarray) -> dict[str, np.ndarray]:
    """Month index, day of month and last business day of the month for epoch day numbers."""
    dates = days.astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    month_start = month.astype("datetime64[D]").astype(np.int64)
    last_day = (month + 1).astype("datetime64[D]").astype(np.int64) - 1
    last_weekday = (last_day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    last_business = last_day - np.maximum(last_weekday - 4, 0)
    return {
        "month": month.astype(np.int64),
        "day": days - month_start + 1,
        "last_day": last_day,
        "last_business": last_business,
    }


def _passed(day: np.ndarray, cal: dict, on: np.ndarray | int) -> np.ndarray:
    """How many times a day-of-month mark was reached up to ``day`` (a running count)."""
    return cal["month"] + (cal["day"] >= on)


def moment_features(
    *, failed_at: np.ndarray, at: np.ndarray, zones: np.ndarray
) -> dict[str, np.ndarray]:
    """Time features of attempts at ``at`` after a failure at ``failed_at`` (Unix seconds)."""
    local_at = local_seconds(at, zones)
    local_failed = local_seconds(failed_at, zones)
    day1, day0 = local_at // DAY, local_failed // DAY
    cal1, cal0 = _calendar(day1), _calendar(day0)
    lbd1 = cal1["month"] + (day1 >= cal1["last_business"])
    lbd0 = cal0["month"] + (day0 >= cal0["last_business"])
    return {
        "hours_since_failure": (at - failed_at) / HOUR,
        "local_hour": (local_at % DAY) // HOUR,
        "local_weekday": (day1 + 3) % 7,
        "day_of_month": cal1["day"],
        "days_to_month_end": cal1["last_day"] - day1,
        "crossed_first": cal1["month"] > cal0["month"],
        "crossed_15th": _passed(day1, cal1, 15) > _passed(day0, cal0, 15),
        "crossed_25th": _passed(day1, cal1, 25) > _passed(day0, cal0, 25),
        "crossed_last_business_day": lbd1 > lbd0,
        "fridays_crossed": (day1 - 1) // 7 - (day0 - 1) // 7,  # 1970-01-02 was a Friday
    }
