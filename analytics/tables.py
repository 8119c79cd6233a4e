"""The shape every dashboard figure takes: a small table that the chart and its CSV share.

Queries aggregate in the database and return a ``Table``; the chart is drawn from it and
the CSV streams the very same rows, so the two can never disagree. Tables are cached
briefly per filter set (the dashboard refreshes every 30 s while the simulator runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache

from dunning.helpers import money

CACHE_SECONDS = 30


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list]
    note: str = ""
    # How the chart draws it: kind ("bar", "line", "heatmap"...), which columns to plot.
    chart: dict = field(default_factory=dict)

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def major_units(amount: int | None, currency: str) -> float:
    """Minor units as the amount people read (cents -> 12.34), for charts and CSVs alike."""
    if not amount:
        return 0
    places = money.decimals(currency)
    value = money.major_units(amount, currency)
    return round(value, places) if places else int(value)


def rate(part: int | None, whole: int | None) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


def cached(*, name: str, key: str, compute: Callable[[], Table | dict]):
    """The cached result for (name, filters), computed at most once per CACHE_SECONDS."""
    cache_key = f"analytics:{name}:{key}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, CACHE_SECONDS)
    return value
