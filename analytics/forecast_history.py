"""Past forecasts beside what happened: daily snapshots, settled once their horizon passes.

``forecast_snapshot_take`` keeps one ``ForecastSnapshot`` per day and currency (taking it
twice changes nothing). ``forecast_backfill`` computes the snapshots of past days from
history, with only what was known on each day (the open invoices then; the fallback rates
of that day; decisions made by then, which the demo's past does not have). Once a
snapshot's ``as_of`` + horizon has passed, ``forecast_snapshots_settle`` records what its
invoices actually recovered by then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.filters import DashboardFilters
from analytics.forecast import AGE_EDGES, Forecast, forecast_compute, open_failures
from analytics.models import ForecastSnapshot
from analytics.tables import Table, cached, major_units, rate
from dunning.models import InvoiceFailure

ID_CHUNK = 5_000
# A settled snapshot is recomputed for this long after its horizon, for late events.
RESETTLE_DAYS = 7
MAX_HORIZON_DAYS = 120  # the longest dunning window the guardrails allow
HISTORY_COLUMNS = [
    "day",
    "source",
    "open invoices",
    "expected",
    "low 80%",
    "high 80%",
    "low 95%",
    "high 95%",
    "actual",
    "actual inside 80%",
]
METHOD_LIVE = "latest decision's recovery score; else the category's rate at that age"
METHOD_BACKFILL = "the category's rate at that age, as known that day (none existed then)"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _snapshots(forecast: Forecast, *, day: date, now: datetime) -> list[ForecastSnapshot]:
    ids: dict[str, list[str]] = {}
    as_of = None if forecast.live else forecast.as_of
    for currency, invoice in (
        open_failures(as_of=as_of, window_days=forecast.horizon_days)
        .order_by("invoice_cb_id")
        .values_list("currency_code", "invoice_cb_id")
    ):
        ids.setdefault(currency or "—", []).append(invoice)
    decided = forecast.live or forecast.fallback < forecast.invoices
    source = ForecastSnapshot.Source.LIVE if forecast.live else ForecastSnapshot.Source.BACKFILL
    # A past day whose horizon has passed is judged at once (the same query counted it).
    settled = not forecast.live and forecast.as_of + timedelta(days=forecast.horizon_days) <= now
    return [
        ForecastSnapshot(
            day=day,
            as_of=forecast.as_of,
            horizon_days=forecast.horizon_days,
            currency=currency,
            source=source,
            invoices=c.total.invoices,
            at_stake=c.total.at_stake,
            expected=c.total.expected,
            low=c.total.low,
            high=c.total.high,
            low95=c.total.low95,
            high95=c.total.high95,
            fallback_invoices=c.total.fallback,
            method=METHOD_LIVE if decided else METHOD_BACKFILL,
            invoice_ids=ids.get(currency, []),
            category_rates={
                "age_edges_days": list(AGE_EDGES),
                "overall": forecast.overall_rates,
                "by_category": forecast.category_rates,
            },
            actual=c.total.recovered if settled else None,
            actual_invoices=c.total.recovered_invoices if settled else None,
            settled_at=now if settled else None,
        )
        for currency, c in forecast.currencies.items()
    ]


def forecast_snapshot_take(*, as_of: datetime | None = None, now: datetime | None = None) -> int:
    """Keep today's forecast (``as_of`` None) or a past day's, once. Returns snapshots made.

    A past day's snapshot is the forecast as of that day's midnight (UTC).
    """
    now = now or timezone.now()
    day = (as_of or now).date()
    if ForecastSnapshot.objects.filter(day=day).exists():
        return 0
    past = _midnight(day) if as_of else None
    # A past day takes the fallback rates known at the start of its week (computed once).
    week = _midnight(day - timedelta(days=day.weekday())) if as_of else None
    forecast = forecast_compute(as_of=past, now=now, rates_as_of=week)
    snapshots = _snapshots(forecast, day=day, now=now)
    with transaction.atomic():
        made = ForecastSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True)
    return len(made)


def forecast_backfill(*, days: int, now: datetime | None = None) -> int:
    """The snapshots of the ``days`` days before today, from history. Returns snapshots made."""
    now = now or timezone.now()
    today = now.date()
    made = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        made += forecast_snapshot_take(as_of=_midnight(day), now=now)
    return made


def forecast_snapshots_settle(*, now: datetime | None = None) -> int:
    """Record what each snapshot's invoices recovered within its horizon. Returns how many."""
    now = now or timezone.now()
    settled = 0
    recent = now - timedelta(days=RESETTLE_DAYS + MAX_HORIZON_DAYS)
    candidates = ForecastSnapshot.objects.filter(
        Q(settled_at__isnull=True) | Q(as_of__gte=recent), as_of__lte=now
    )
    for snapshot in candidates.only("pk", "as_of", "horizon_days", "invoice_ids", "settled_at"):
        deadline = snapshot.as_of + timedelta(days=snapshot.horizon_days)
        if deadline > now:
            continue
        if snapshot.settled_at and snapshot.settled_at > deadline + timedelta(days=RESETTLE_DAYS):
            continue
        amount, invoices = 0, 0
        ids = snapshot.invoice_ids
        for start in range(0, len(ids), ID_CHUNK):
            totals = InvoiceFailure.objects.filter(
                invoice_cb_id__in=ids[start : start + ID_CHUNK],
                is_recovered=True,
                paid_at__gte=snapshot.as_of,
                paid_at__lt=deadline,
            ).aggregate(amount=Coalesce(Sum("amount"), 0), invoices=Count("pk"))
            amount += totals["amount"]
            invoices += totals["invoices"]
        ForecastSnapshot.objects.filter(pk=snapshot.pk).update(
            actual=amount, actual_invoices=invoices, settled_at=now
        )
        settled += 1
    return settled


def forecast_history_table(*, filters: DashboardFilters) -> Table:
    """Past forecasts of ``filters.currency`` made in the period, with their outcomes."""
    currency = filters.currency

    def compute():
        snapshots = ForecastSnapshot.objects.filter(
            currency=currency, as_of__gte=filters.since, as_of__lt=filters.until
        ).values_list(
            "day", "source", "invoices", "expected", "low", "high", "low95", "high95", "actual"
        )
        rows = []
        for day, source, invoices, expected, low, high, low95, high95, actual in snapshots:
            inside = None if actual is None else ("yes" if low <= actual <= high else "no")
            rows.append(
                [
                    day.isoformat(),
                    source,
                    invoices,
                    *(
                        major_units(round(v), currency)
                        for v in (expected, low, high, low95, high95)
                    ),
                    None if actual is None else major_units(actual, currency),
                    inside,
                ]
            )
        return Table(
            name="forecast_vs_actual",
            title=f"Past forecasts and what was recovered within their horizon ({currency})",
            columns=HISTORY_COLUMNS,
            rows=rows,
            note="Actual: blank until the forecast's horizon has passed.",
            chart={"kind": "forecast_band"},
        )

    return cached(name="forecast_history", key=filters.cache_key, compute=compute)


def forecast_coverage(*, filters: DashboardFilters) -> dict:
    """How often the actual fell inside the 80% and 95% intervals, of the settled forecasts."""

    def compute():
        totals = ForecastSnapshot.objects.filter(
            currency=filters.currency,
            as_of__gte=filters.since,
            as_of__lt=filters.until,
            actual__isnull=False,
        ).aggregate(
            settled=Count("pk"),
            inside80=Count("pk", filter=Q(actual__gte=F("low"), actual__lte=F("high"))),
            inside95=Count("pk", filter=Q(actual__gte=F("low95"), actual__lte=F("high95"))),
        )
        return {
            **totals,
            "coverage80": rate(totals["inside80"], totals["settled"]),
            "coverage95": rate(totals["inside95"], totals["settled"]),
        }

    return cached(name="forecast_coverage", key=filters.cache_key, compute=compute)
